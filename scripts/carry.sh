#!/usr/bin/env bash
# Builds clrepro here and gathers what a machine without CLBlast needs to run it into .carry/:
# the binary and the shared libraries it links (CLBlast, Jansson, xxHash), never libOpenCL —
# the target's own ICD loader must find its own vendors' drivers. Then, on that machine:
#   LD_LIBRARY_PATH=$PWD/.carry/lib .carry/clrepro devices
# scripts/remote-bench.sh runs the whole benchmark that way. .carry/ is git-ignored.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh >/dev/null
rm -rf .carry
mkdir -p .carry/lib
cp build/clrepro .carry/
for lib in libclblast.so.1 libjansson.so.4 libxxhash.so.0; do
  path=$(ldd build/clrepro | awk -v l="$lib" '$1 == l { print $3 }')
  # Not linked (the linker drops libraries nothing calls yet): nothing to carry.
  [ -n "$path" ] && cp -L "$path" .carry/lib/
done
cp scripts/remote-bench.sh scripts/remote-check.sh scripts/remote-portable.sh scripts/remote-switch.sh \
  scripts/pack-results.sh .carry/
cp -r cl .carry/cl # kernel sources, for runs with --kernel-dir (e.g. a sabotaged copy)
echo "carry: $(du -sh .carry | cut -f1) in .carry/"
