#!/usr/bin/env bash
# Installs everything restake-sim needs to build, test and analyse, from Debian 12 packages only.
# Idempotent: safe to run again; apt-get skips what is already installed.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  libboost-dev          # Boost.Random distributions (header-only)
  librandom123-dev      # counter-based random streams (Philox)
  libtbb-dev            # oneTBB: threads
  libhdf5-dev hdf5-tools zlib1g-dev  # zlib: records compressed on many threads
  libspdlog-dev libfmt-dev
  libtomlplusplus-dev   # scenario files
  libcli11-dev          # command line
  doctest-dev           # unit tests
  libopenmpi-dev openmpi-bin  # optional MPI sweeps (cmake -DRESTAKE_MPI=ON, docs/cluster.md)
  clang libclang-rt-14-dev  # libFuzzer + ASan/UBSan runtimes for tests/fuzz (scripts/fuzz.sh; clang 14)
  python3-numpy python3-h5py python3-matplotlib python3-pandas python3-pytest python3-xarray  # analysis/ (/usr/bin/python3; xarray: optional, to_xarray())
)

if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
echo "setup: dependencies installed"
