# sqsh-layers in a container.
#
#   docker build -t sqsh-layers .
#   docker run --rm --privileged -v "$PWD:/project" sqsh-layers build
#
# The tool mounts loop devices, tmpfs and overlayfs and starts bubblewrap sandboxes, so the
# container needs either --privileged, or at least:
#   --cap-add SYS_ADMIN --cap-add MKNOD --device /dev/loop-control --device /dev/loop0 ... (as many loop devices as layers build at once, plus their lowers)
#   --security-opt seccomp=unconfined --security-opt apparmor=unconfined   (namespaces for bwrap, mount(2))
# and /run on a tmpfs (the default in Docker) for the run state under /run/sqsh-layers.
# `run` steps with `network: true` use the container's network and /etc/resolv.conf.

FROM node:20-bookworm-slim AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/sqsh-layers
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY schema ./schema
COPY native ./native
COPY scripts/build-native.sh scripts/bundle.mjs scripts/cli-loader.cjs scripts/train-code-cache.cjs ./scripts/
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      squashfs-tools dump bubblewrap e2fsprogs attr rsync tar gzip xz-utils zstd bzip2 util-linux mount busybox-static debootstrap ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/sqsh-layers /opt/sqsh-layers
RUN ln -s /opt/sqsh-layers/dist/cli.cjs /usr/local/bin/sqsh-layers
WORKDIR /project
ENTRYPOINT ["sqsh-layers"]
CMD ["--help"]
