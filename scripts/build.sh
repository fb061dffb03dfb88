#!/usr/bin/env bash
# Builds shoal into build/ (installing the Debian packages it needs first).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" > /dev/null
echo "build: compiling (the first build takes a few minutes on 2 cores)"
ninja -C build
