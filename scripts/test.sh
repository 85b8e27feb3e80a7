#!/usr/bin/env bash
# Quick start 2: installs what is missing, builds, and runs the test suite through ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh -DCLREPRO_WERROR=ON
cd "${BUILD_DIR:-build}"
ctest --output-on-failure "$@"
