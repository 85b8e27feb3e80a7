#!/usr/bin/env bash
# Quick start 1: installs what is missing, builds, and runs the default benchmark on every
# OpenCL device found (PoCL gives a CPU device where there is no GPU). Results go to
# results/<device>/. Arguments are passed to `clrepro run` (see `build/clrepro run --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
exec "${BUILD_DIR:-build}/clrepro" run "$@"
