#!/bin/sh
# The seed's "manager" step: configures the machine by writing into the merged root of the
# layer being built. Run on the host by a `host:` step, with the merged root as working
# directory and SQSH_ROOT, SQSH_LAYER, SQSH_PARENT, SOURCE_DATE_EPOCH... in the environment.
# Only write below "$SQSH_ROOT": everything written there becomes the layer.
set -eu

: "${SQSH_ROOT:?run me from a sqsh-layers host step}"
HOSTNAME=${HOSTNAME:-web01}
SITE=${SITE:-example}
r=$SQSH_ROOT

echo "manager: configuring $HOSTNAME (layer $SQSH_LAYER over $SQSH_PARENT)"

# Host name.
echo "$HOSTNAME" >"$r/etc/hostname"
chmod 0644 "$r/etc/hostname"
cat >"$r/etc/hosts" <<HOSTS
127.0.0.1	localhost
127.0.1.1	$HOSTNAME

::1	localhost ip6-localhost ip6-loopback
ff02::1	ip6-allnodes
ff02::2	ip6-allrouters
HOSTS

# The nginx site replaces Debian's default one (whose removal is a whiteout in this layer).
cat >"$r/etc/nginx/sites-available/$SITE" <<NGINX
server {
	listen 80 default_server;
	listen [::]:80 default_server;
	server_name $HOSTNAME;
	root /srv/www/$SITE;
	index index.html;
	location / {
		try_files \$uri \$uri/ =404;
	}
	location /assets/ {
		expires 7d;
	}
}
NGINX
rm -f "$r/etc/nginx/sites-enabled/default"
ln -sfn "../sites-available/$SITE" "$r/etc/nginx/sites-enabled/$SITE"

# What this machine is, for people logging in.
{
  echo "$HOSTNAME: nginx serving /srv/www/$SITE"
  if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
    echo "layer $SQSH_LAYER built from sources dated $(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%d)"
  fi
} >"$r/etc/motd"
