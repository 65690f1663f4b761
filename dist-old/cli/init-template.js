// The files of a new layer project (`init`): a Debian minbase bottom layer made by a host hook
// running debootstrap, a layer on top of it, project defaults with SOURCE_DATE_EPOCH set to
// the time of init, a .gitignore, and the JSON Schemas the recipes' modelines point at.
const RECIPE_MODELINE = '# yaml-language-server: $schema=../schema/recipe.schema.json';
export function projectTemplate(o) {
    const date = new Date(o.epoch * 1000).toISOString();
    return [
        {
            path: 'sqsh-layers.yaml',
            text: `# yaml-language-server: $schema=schema/project.schema.json
# Project defaults; a recipe may override squashfs and tmpfs-size for its own layer.
squashfs:
  compression: zstd     # the booting kernel needs CONFIG_SQUASHFS_ZSTD (gzip, xz, lz4 also work)
  level: 15
  block-size: 128K
# Reproducible from day one: mtimes newer than this are clamped and mksquashfs runs in
# reproducible mode, so the same inputs give the same bytes (${date}, the time of init).
# An exported SOURCE_DATE_EPOCH wins over it.
source-date-epoch: ${o.epoch}
# Size of the tmpfs each layer is built in (a Debian minbase needs about 300M).
tmpfs-size: 50%
# cache: /var/cache/sqsh-layers   # share one cache between projects (default .sqsh-cache)
`,
        },
        {
            path: 'recipes/base.yaml',
            text: `${RECIPE_MODELINE}
# The bottom layer (no parent): a Debian 12 (bookworm) minbase system, made by
# hooks/debootstrap.sh, which runs on the host and writes straight into the layer's root.
# Needs debootstrap and the network. Another distribution: change the hook, or restore a
# dump(8) image (- restore: inputs/base.dump) or unpack a tarball (- untar: inputs/rootfs.tar.zst).
description: Debian 12 (bookworm) minbase
steps:
  - host: hooks/debootstrap.sh
    env: { SUITE: bookworm, MIRROR: "http://deb.debian.org/debian" }
  # What debootstrap leaves in apt's caches is not system content.
  - remove:
      - /var/lib/apt/lists/*_*
      - /var/cache/apt/*.bin
      - /var/cache/apt/archives/*.deb
# Never packed into the layer.
exclude:
  - /var/log/**/*.log
  - /var/cache/debconf/*-old
  - /var/lib/dpkg/*-old
# Commands \`sqsh-layers verify\` runs inside the assembled stack.
checks:
  - test -x /bin/sh
  - dpkg-query -W dpkg >/dev/null
`,
        },
        {
            path: 'recipes/app.yaml',
            text: `${RECIPE_MODELINE}
# A layer on top of base: its steps run against base's tree through an overlay, and only
# what they change is packed (new and changed files, whiteouts for deletions). Boot the
# stack with: sqsh_layers=app:base (sqsh-layers cmdline app).
description: the site's configuration on top of base
parent: base
steps:
  # Project files copied into the root: files/app/etc/motd becomes /etc/motd (owner 0:0).
  - copy: files/app/
    to: /
  # A script run INSIDE the root with its own /bin/sh, sandboxed: no network unless
  # "network: true", and no service is started by package installs.
  - run: |
      echo "app layer built by sqsh-layers" >> /etc/issue
    # network: true
    # env: { DEBIAN_FRONTEND: noninteractive }
  #   apt-get update && apt-get install -y --no-install-recommends nginx-light
  # Deletions become whiteouts over base's files.
  # - remove: [/usr/share/doc/*]
checks:
  - grep -q "sqsh-layers" /etc/motd
`,
        },
        {
            path: 'hooks/debootstrap.sh',
            mode: 0o755,
            text: `#!/bin/sh
# Runs on the host (a \`host\` step of recipes/base.yaml) with the layer's empty root as its
# working directory and in SQSH_ROOT: debootstrap writes the system straight into it.
set -eu
: "\${SQSH_ROOT:?run me from a sqsh-layers host step}"
SUITE=\${SUITE:-bookworm}
MIRROR=\${MIRROR:-http://deb.debian.org/debian}
command -v debootstrap >/dev/null || { echo "debootstrap is not installed: apt-get install debootstrap" >&2; exit 1; }
echo "debootstrap --variant=minbase $SUITE from $MIRROR (a minute or two)"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! debootstrap --variant=minbase "$SUITE" "$SQSH_ROOT" "$MIRROR" >"$log" 2>&1; then
  tail -n 30 "$log" >&2
  [ -f "$SQSH_ROOT/debootstrap/debootstrap.log" ] && tail -n 30 "$SQSH_ROOT/debootstrap/debootstrap.log" >&2
  exit 1
fi
`,
        },
        { path: 'files/app/etc/motd', text: 'Welcome to a system built from sqsh-layers.\n' },
        {
            path: '.gitignore',
            text: `# Built layers and the local cache: made by sqsh-layers build.
layers/
.sqsh-cache/
.sqsh-layers.lock
`,
        },
        { path: 'schema/recipe.schema.json', text: o.schemas.recipe },
        { path: 'schema/project.schema.json', text: o.schemas.project },
    ];
}
//# sourceMappingURL=init-template.js.map