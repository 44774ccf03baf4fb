#!/usr/bin/env bash
# Makes this machine able to run Siskin's tests: host tools from Debian's packages (when
# missing and we are root) and the local cluster's binaries built from the Go module proxy
# into a cache outside the checkout. Idempotent and quick once done.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# The host tools and their Debian packages: test/cluster/host-tools.tsv, the one list (the
# TypeScript cluster library finds the tools through it when it uses them).
missing=()
while IFS=$'\t' read -r cmd pkg _; do
  [[ -z $cmd || $cmd == \#* ]] && continue
  if [[ $cmd == /* ]]; then [[ -x $cmd ]] && continue; else command -v "$cmd" >/dev/null 2>&1 && continue; fi
  missing+=("$pkg")
done <"$here/test/cluster/host-tools.tsv"
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
