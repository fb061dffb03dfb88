#!/usr/bin/env bash
# Installs everything shoal needs to build, test and run, from Debian 12's packages.
# Safe to run again: apt-get skips what is already installed.
set -euo pipefail

build_packages=(
  build-essential cmake ninja-build pkg-config
  libfuse3-dev fuse3
  libboost-dev
  protobuf-compiler libprotobuf-dev
  nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev
  liblmdb-dev libxxhash-dev
  libgtest-dev libgmock-dev
  clang libclang-rt-14-dev
)
runtime_packages=(etcd-server attr python3 bash-completion)
# The tests' network cuts (ip netns, a bridge) and frozen disks (mkfs.ext4 on a loop device, fsfreeze).
test_packages=(iproute2 e2fsprogs util-linux)

missing=()
for p in "${build_packages[@]}" "${runtime_packages[@]}" "${test_packages[@]}" "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "install-deps: these packages are missing and installing them needs root: ${missing[*]}" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || echo "install-deps: apt-get update failed; trying the cached package lists" >&2
apt-get install -y -qq --no-install-recommends "${missing[@]}"
