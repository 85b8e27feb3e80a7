#!/usr/bin/env bash
# Installs every Debian/Ubuntu package clrepro needs to build, run on the CPU (PoCL) and test.
# Runs apt-get as root, through sudo when not root. Safe to run again.
set -euo pipefail

packages=(
  build-essential cmake pkg-config  # compiler and build
  ocl-icd-opencl-dev opencl-headers # OpenCL loader and headers
  pocl-opencl-icd clinfo            # a CPU OpenCL device, and a way to list devices
  libclblast-dev                    # BLAS on OpenCL (matmul strategies)
  libjansson-dev                    # JSON results
  libxxhash-dev                     # output fingerprints
  check                             # unit tests
  openmpi-bin libopenmpi-dev        # MPI: allreduce across ranks, fleet mode (mpirun)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null; then
  sudo=(sudo)
else
  echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2
  exit 2
fi
echo "install-deps: installing ${missing[*]}"
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
