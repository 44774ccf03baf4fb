#!/usr/bin/env bash
# Builds the local cluster's binaries from the Go module proxy into a version-keyed cache
# outside the checkout, so every clone on this machine (CI's included) reuses them.
# Only the first run pays (about 25 minutes on 2 cores); later runs return at once.
#
#   test/cluster/build-binaries.sh [component...]   # default: all
#   components: kubernetes etcd kwok helm prometheus traefik gateway-api kstatus krew
#
# Cache: ${SISKIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/siskin}/bin/<component>-<version>/
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"

cache="${SISKIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/siskin}"
bin_root="$cache/bin"
work_root="$cache/build"
mkdir -p "$bin_root" "$work_root"

export CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOTOOLCHAIN=local

command -v go >/dev/null || { echo "build-binaries: 'go' is not on PATH (install Go >= 1.24: apt-get install golang-go, or from go.dev)" >&2; exit 1; }

# One builder at a time per cache: a second caller waits, then finds the binaries built.
exec 9>"$cache/.build.lock"
flock 9

log() { printf '[build-binaries %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# install_dir COMPONENT VERSION -> prints the final directory
install_dir() { printf '%s/%s-%s' "$bin_root" "$1" "$2"; }

# done_marker DIR: a component is complete only once its marker exists (set last, atomically).
is_done() { [[ -f "$1/.complete" ]]; }
finish() { local tmp="$1" dst="$2"; touch "$tmp/.complete"; rm -rf "$dst"; mv "$tmp" "$dst"; }

build_kubernetes() {
  local dst; dst="$(install_dir kubernetes "$KUBERNETES_VERSION")"
  is_done "$dst" && return 0
  log "kubernetes $KUBERNETES_VERSION (kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, kubelet, kube-proxy)"
  local mod="$work_root/kubernetes-$KUBERNETES_VERSION"
  rm -rf "$mod"; mkdir -p "$mod"
  local gomod
  gomod="$(cd "$mod" && go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
  [[ -f "$gomod" ]] || { log "cannot download k8s.io/kubernetes@$KUBERNETES_VERSION's go.mod"; exit 1; }
  {
    echo "module siskin.dev/localcluster/kubernetes"
    echo
    echo "go 1.24"
    echo
    echo "require k8s.io/kubernetes $KUBERNETES_VERSION"
    echo
    # k8s.io/kubernetes points each staging module at ./staging/...; use the published ones.
    grep -E '^[[:space:]]*(replace[[:space:]]+)?k8s\.io/[^ ]+[[:space:]]+=>[[:space:]]+\./staging/' "$gomod" \
      | sed -E 's/^[[:space:]]*(replace[[:space:]]+)?(k8s\.io\/[^ ]+)[[:space:]]+=>.*/replace \2 => \2 '"$KUBERNETES_STAGING_VERSION"'/'
  } >"$mod/go.mod"
  local n; n="$(grep -c '^replace' "$mod/go.mod")"
  log "replaced $n staging modules with $KUBERNETES_STAGING_VERSION"
  cat >"$mod/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
GO
  (cd "$mod" && go mod tidy)
  local major minor
  major="${KUBERNETES_VERSION#v}"; major="${major%%.*}"
  minor="${KUBERNETES_VERSION#v*.}"; minor="${minor%%.*}"
  local ld="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $p.gitVersion=$KUBERNETES_VERSION -X $p.gitMajor=$major -X $p.gitMinor=$minor -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  local tmp="$dst.tmp"; rm -rf "$tmp"; mkdir -p "$tmp"
  (cd "$mod" && go build -trimpath -ldflags "$ld" -o "$tmp/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl \
    k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy)
  finish "$tmp" "$dst"
}

build_etcd() {
  local dst; dst="$(install_dir etcd "$ETCD_VERSION")"
  is_done "$dst" && return 0
  log "etcd $ETCD_VERSION"
  local mod="$work_root/etcd-$ETCD_VERSION"
  rm -rf "$mod"; mkdir -p "$mod"
  cat >"$mod/go.mod" <<GOMOD
module siskin.dev/localcluster/etcd

go 1.24

require go.etcd.io/etcd/server/v3 $ETCD_VERSION
GOMOD
  cat >"$mod/tools.go" <<'GO'
//go:build tools

package tools

import _ "go.etcd.io/etcd/server/v3"
GO
  (cd "$mod" && go mod tidy)
  local tmp="$dst.tmp"; rm -rf "$tmp"; mkdir -p "$tmp"
  (cd "$mod" && go build -trimpath -ldflags "-s -w" -o "$tmp/etcd" go.etcd.io/etcd/server/v3)
  finish "$tmp" "$dst"
}

build_kwok() {
  local dst; dst="$(install_dir kwok "$KWOK_VERSION")"
  is_done "$dst" && return 0
  log "kwok $KWOK_VERSION (+ its stage YAML from the same module)"
  local tmp="$dst.tmp"; rm -rf "$tmp"; mkdir -p "$tmp/stages"
  GOBIN="$tmp" go install -trimpath -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v}" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  local src
  src="$(cd "$work_root" && go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
  for s in node/fast node/heartbeat pod/fast; do
    local f
    for f in "$src/kustomize/stage/$s"/*.yaml; do
      [[ "$(basename "$f")" == kustomization.yaml ]] && continue
      cp "$f" "$tmp/stages/${s//\//-}-$(basename "$f")"
    done
  done
  chmod -R u+w "$tmp"
  finish "$tmp" "$dst"
}

build_helm() {
  local dst; dst="$(install_dir helm "$HELM_VERSION")"
  is_done "$dst" && return 0
  log "helm $HELM_VERSION"
  local tmp="$dst.tmp"; rm -rf "$tmp"; mkdir -p "$tmp"
  GOBIN="$tmp" go install -trimpath -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  finish "$tmp" "$dst"
}

build_prometheus() {
  local dst; dst="$(install_dir prometheus "$PROMETHEUS_VERSION")"
  is_done "$dst" && return 0
  log "prometheus $PROMETHEUS_VERSION (module $PROMETHEUS_MODULE_VERSION)"
  local tmp="$dst.tmp"; rm -rf "$tmp"; mkdir -p "$tmp"
  local ld="-s -w -X github.com/prometheus/common/version.Version=$PROMETHEUS_VERSION -X github.com/prometheus/common/version.Branch=HEAD -X github.com/prometheus/common/version.Revision=$PROMETHEUS_MODULE_VERSION"
  GOBIN="$tmp" go install -trimpath -ldflags "$ld" \
    "github.com/prometheus/prometheus/cmd/prometheus@$PROMETHEUS_MODULE_VERSION" \
    "github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_MODULE_VERSION"
  finish "$tmp" "$dst"
}

build_gateway_api() {
  local dst; dst="$(install_dir gateway-api "$GATEWAY_API_VERSION")"
  is_done "$dst" && return 0
  log "gateway-api $GATEWAY_API_VERSION standard CRDs"
  local tmp="$dst.tmp"; rm -rf "$tmp"; mkdir -p "$tmp"
  local src
  src="$(cd "$work_root" && go mod download -json "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
  cp "$src"/config/crd/standard/*.yaml "$tmp/"
  chmod -R u+w "$tmp"
  finish "$tmp" "$dst"
}

build_traefik() {
  local dst; dst="$(install_dir traefik "$TRAEFIK_VERSION")"
  is_done "$dst" && return 0
  log "traefik $TRAEFIK_VERSION"
  local mod="$work_root/traefik-$TRAEFIK_VERSION"
  rm -rf "$mod"; mkdir -p "$mod"
  local src
  src="$(cd "$work_root" && go mod download -json "github.com/traefik/traefik/v3@$TRAEFIK_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
  {
    echo "module siskin.dev/localcluster/traefik"
    echo
    echo "go 1.24"
    echo
    echo "require github.com/traefik/traefik/v3 $TRAEFIK_VERSION"
    echo
    # Traefik's own replace block, with its local module pointed inside the downloaded source.
    awk '/^replace \($/{f=1;next} f&&/^\)/{f=0} f{print "replace " $0} /^replace [^(]/{print}' "$src/go.mod" \
      | sed -E "s#=> \./pkg/config/dynamic/ext#=> $src/pkg/config/dynamic/ext#"
  } >"$mod/go.mod"
  cat >"$mod/tools.go" <<'GO'
//go:build tools

package tools

import _ "github.com/traefik/traefik/v3/cmd/traefik"
GO
  (cd "$mod" && go mod tidy)
  local tmp="$dst.tmp"; rm -rf "$tmp"; mkdir -p "$tmp"
  (cd "$mod" && go build -trimpath -ldflags "-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=$TRAEFIK_VERSION" -o "$tmp/traefik" github.com/traefik/traefik/v3/cmd/traefik)
  finish "$tmp" "$dst"
}

# ---- kstatus: the readiness library Flux's health checks use (sigs.k8s.io/cli-utils/pkg/kstatus)
# as a tiny checker, from the Go source in test/cluster/kstatus (its go.mod and go.sum pin the
# library; versions.env's CLI_UTILS_VERSION must name the same version). The sources' hash is
# kept beside the binary, so an edited checker is rebuilt, not served stale from the cache.
build_kstatus() {
  local dst; dst="$(install_dir kstatus "$CLI_UTILS_VERSION")"
  local src="$here/kstatus" sum
  sum="$(cat "$src/main.go" "$src/go.mod" "$src/go.sum" | sha256sum | cut -d' ' -f1)"
  is_done "$dst" && [[ "$(cat "$dst/.source-sha256" 2>/dev/null)" == "$sum" ]] && return 0
  grep -Eq "^[[:space:]]*(require[[:space:]]+)?sigs\.k8s\.io/cli-utils $CLI_UTILS_VERSION\$" "$src/go.mod" || {
    log "test/cluster/kstatus/go.mod does not require sigs.k8s.io/cli-utils $CLI_UTILS_VERSION (versions.env): run go get sigs.k8s.io/cli-utils@$CLI_UTILS_VERSION && go mod tidy there"
    exit 1
  }
  log "kstatus checker (sigs.k8s.io/cli-utils $CLI_UTILS_VERSION)"
  local tmp="$dst.tmp"; rm -rf "$tmp"; mkdir -p "$tmp"
  (cd "$src" && go build -mod=readonly -trimpath -ldflags "-s -w" -o "$tmp/kstatus" .)
  printf '%s\n' "$sum" >"$tmp/.source-sha256"
  finish "$tmp" "$dst"
}
# ---- end kstatus

# krew, the kubectl plugin manager: the kubectl-siskin plugin test installs the plugin with it
# as a user would. Built from its own module (no replace directives, so `go install` works)
# and named kubectl-krew, the name under which kubectl finds it and Krew installs itself.
build_krew() {
  local dst; dst="$(install_dir krew "$KREW_VERSION")"
  is_done "$dst" && return 0
  log "krew $KREW_VERSION (kubectl-krew)"
  local tmp="$dst.tmp"; rm -rf "$tmp"; mkdir -p "$tmp"
  GOBIN="$tmp" go install -trimpath -ldflags "-s -w -X sigs.k8s.io/krew/internal/version.gitTag=$KREW_VERSION" "sigs.k8s.io/krew/cmd/krew@$KREW_VERSION"
  mv "$tmp/krew" "$tmp/kubectl-krew"
  finish "$tmp" "$dst"
}

components=("$@")
[[ ${#components[@]} -gt 0 ]] || components=(etcd kubernetes kwok helm prometheus gateway-api traefik kstatus krew)
for c in "${components[@]}"; do
  case "$c" in
    kubernetes) build_kubernetes ;;
    etcd) build_etcd ;;
    kwok) build_kwok ;;
    helm) build_helm ;;
    prometheus) build_prometheus ;;
    gateway-api) build_gateway_api ;;
    traefik) build_traefik ;;
    kstatus) build_kstatus ;;
    krew) build_krew ;;
    *) echo "build-binaries: unknown component '$c'" >&2; exit 2 ;;
  esac
done
log "all requested components are in $bin_root"
