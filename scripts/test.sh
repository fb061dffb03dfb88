#!/usr/bin/env bash
# The README's second command: builds shoal and runs every test — unit tests, integration tests
# with real shoald servers and FUSE mounts, the POSIX behaviour suite — then fuzzes the frame and
# message decoder for a bounded time. Needs root (the tests mount FUSE file systems and tmpfs).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "test: run as root (the tests mount file systems)" >&2; exit 1; }
FUZZ_SECONDS=${FUZZ_SECONDS:-60}

# Installs too: the tests mount through /usr/sbin/mount.shoal, as mount(8) and fstab do.
scripts/install.sh

echo "test: running the test suite"
(cd build && ctest --output-on-failure -j2 --timeout 600)

echo "test: fuzzing the frame and message decoder for ${FUZZ_SECONDS}s"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSHOAL_FUZZ=ON > /dev/null
ninja -C build-fuzz frame_fuzzer > /dev/null
corpus=$(mktemp -d /tmp/shoal-fuzz-corpus.XXXXXX)
trap 'rm -rf "$corpus"' EXIT
cp tests/fuzz/seeds/* "$corpus"/
build-fuzz/tests/frame_fuzzer -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 "$corpus" 2>&1 | tail -n 5
echo "test: all passed"
