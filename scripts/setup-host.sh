#!/usr/bin/env bash
# Makes this machine able to run Siskin's tests: host tools from Debian's packages (when
# missing and we are root) and the local cluster's binaries built from the Go module proxy
# into a cache outside the checkout. Idempotent and quick once done.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# command -> Debian package that provides it
declare -A want=([openssl]=openssl [setpriv]=util-linux [flock]=util-linux [nsenter]=util-linux [curl]=curl [git]=git
  [gcc]=gcc [tar]=tar [ip]=iproute2
  [lua5.4]=lua5.4 # the Argo CD health check (charts/siskin/health) runs on a real Lua in its test
  # the real node: a dedicated containerd with runc, CNI plugins, iptables for kube-proxy
  [containerd]=containerd [runc]=runc [iptables]=iptables [conntrack]=conntrack
  [/usr/lib/cni/bridge]=containernetworking-plugins [/bin/busybox]=busybox-static
  # the repository image: a Docker engine (started by the tests with no bridge or iptables)
  # and debootstrap for the local base image (scripts/make-base-image.sh)
  [dockerd]=docker.io [docker]=docker.io [debootstrap]=debootstrap)
missing=()
for cmd in "${!want[@]}"; do
  if [[ $cmd == /* ]]; then [[ -x $cmd ]] && continue; else command -v "$cmd" >/dev/null 2>&1 && continue; fi
  missing+=("${want[$cmd]}")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "setup-host: installing ${missing[*]} from Debian" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(printf '%s\n' "${missing[@]}" | sort -u) >/dev/null
  else
    echo "setup-host: missing Debian packages: ${missing[*]} (apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi

if ! command -v go >/dev/null; then
  echo "setup-host: Go >= 1.24 is needed to build the local cluster's binaries (see README: 'How the local cluster gets its binaries')" >&2
  exit 1
fi

bash "$here/test/cluster/build-binaries.sh"
