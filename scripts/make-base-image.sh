#!/usr/bin/env bash
# Makes the local base image for the Dockerfile when no registry is reachable: Debian
# bookworm (debootstrap minbase from the machine's own Debian mirror, with CA certificates)
# plus the pinned Node 24 binary and npm, both from the npm registry; `docker import`ed
# as siskin.local/node-base:<node version>. Cached: the rootfs tarball under the siskin
# cache, the image in Docker. Prints the image reference.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${SISKIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/siskin}/images"
mkdir -p "$cache"
node_bin="$here/node_modules/node/bin/node"
[[ -x $node_bin ]] || { echo "make-base-image: run 'npm ci' first (the pinned node package provides Node 24)" >&2; exit 1; }
node_version="$("$node_bin" --version)"
# shellcheck source=../test/cluster/versions.env
source "$here/test/cluster/versions.env"
npm_version="$NPM_VERSION"
ref="siskin.local/node-base:${node_version#v}"
docker="$(command -v docker)" || { echo "make-base-image: the Docker CLI is missing (apt-get install docker.io, or bash scripts/setup-host.sh)" >&2; exit 1; }

if "$docker" image inspect "$ref" >/dev/null 2>&1; then echo "$ref"; exit 0; fi

# Temporary trees (a debootstrap rootfs is ~140 MB) go away on success, error, Ctrl-C and
# SIGTERM: the long steps run in the background so a signal reaches this trap at once, the
# trap stops them, unmounts what debootstrap mounted, then deletes. Each tree carries the
# cluster library's owner file, so a run killed with SIGKILL is swept by the next test run.
temps=()
children=()
cleanup() {
  local code=$?
  trap - EXIT INT TERM HUP
  local c
  for c in "${children[@]}"; do kill -TERM -- "-$c" 2>/dev/null || true; done
  ((${#children[@]})) && { wait "${children[@]}" 2>/dev/null || true; }
  local t m
  for t in "${temps[@]}"; do
    # Deepest first; lazily, so a busy mount cannot keep the tree.
    while read -r m; do umount -l "$m" 2>/dev/null || true; done < <(awk -v d="$t" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r)
    rm -rf --one-file-system "$t"
  done
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
# make_temp PREFIX: a new temporary directory under $TMPDIR, removed by cleanup.
make_temp() {
  local t; t="$(mktemp -d -t "$1-XXXXXX")"
  echo $$ >"$t/.siskin-owner-pid"
  temps+=("$t")
  REPLY="$t"
}
# in_background CMD...: runs CMD in a process group of its own that cleanup can stop whole
# (debootstrap's dpkg children included), and waits for it.
in_background() {
  setsid "$@" &
  children+=("$!")
  wait "$!"
}

exec 9>"$cache/.lock"; flock 9
rootfs_tar="$cache/debian-bookworm-minbase.tar"
if [[ ! -f $rootfs_tar ]]; then
  # The machine's own Debian mirror: the first non-security URI apt uses (deb822 or one-line format).
  mirror="$( { grep -shE '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}'
               grep -shE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | awk '{print $2}'; } \
             | grep -v -e security -e '^$' | head -1 || true)"
  mirror="${mirror:-http://deb.debian.org/debian}"
  command -v debootstrap >/dev/null || { echo "make-base-image: debootstrap missing (apt-get install debootstrap)" >&2; exit 1; }
  make_temp siskin-rootfs; tmp="$REPLY"
  echo "make-base-image: debootstrap bookworm from $mirror" >&2
  in_background debootstrap --variant=minbase --include=ca-certificates bookworm "$tmp/rootfs" "$mirror" >"$tmp/debootstrap.log" 2>&1 \
    || { tail -20 "$tmp/debootstrap.log" >&2; exit 1; }
  rm -rf "$tmp/rootfs/var/cache/apt/archives/"*.deb "$tmp/rootfs/var/lib/apt/lists/"*
  tar --numeric-owner -C "$tmp/rootfs" -cf "$rootfs_tar.tmp" .
  mv "$rootfs_tar.tmp" "$rootfs_tar"
fi

make_temp siskin-baseimg; work="$REPLY"
mkdir -p "$work/rootfs"
tar --numeric-owner -C "$work/rootfs" -xf "$rootfs_tar"
install -m 0755 "$node_bin" "$work/rootfs/usr/local/bin/node"
# The machine's own CA bundle: registries are reached through its TLS egress, so image
# builds (npm ci) must trust what the host trusts. Local base only; laptops use node:24-slim.
host_ca="${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}"
[[ -f $host_ca ]] && install -m 0644 "$host_ca" "$work/rootfs/etc/ssl/certs/ca-certificates.crt"
# npm, from the npm registry, so `npm ci` runs inside image builds as it does on node:24-slim.
(cd "$work" && npm pack --silent "npm@$npm_version" >/dev/null)
mkdir -p "$work/rootfs/usr/local/lib/node_modules/npm"
tar -C "$work/rootfs/usr/local/lib/node_modules/npm" --strip-components=1 -xzf "$work"/npm-*.tgz
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$work/rootfs/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$work/rootfs/usr/local/bin/npx"
tar --numeric-owner -C "$work/rootfs" -c . | "$docker" import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
  --change 'CMD ["node"]' - "$ref" >/dev/null
echo "$ref"
