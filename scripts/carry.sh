#!/usr/bin/env bash
# Builds clrepro here and gathers what a machine without CLBlast needs to run it into .carry/:
# the binary and the shared libraries it links (CLBlast, Jansson, xxHash), never libOpenCL —
# the target's own ICD loader must find its own vendors' drivers — and, where the binary links
# MPI, Open MPI's runtime in .carry/mpi (scripts/carry-mpi.sh; source .carry/mpi/env.sh there
# before mpirun). Then, on that machine:
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
# Built with MPI (allreduce, fleet mode): the Open MPI runtime too, for a machine without one.
if ldd build/clrepro | grep 'libmpi\.so' >/dev/null; then  # not -q: with pipefail, grep -q's early exit fails ldd
  scripts/carry-mpi.sh .carry/mpi >/dev/null
fi
cp scripts/remote-bench.sh scripts/remote-check.sh scripts/remote-portable.sh scripts/remote-switch.sh \
  scripts/remote-allreduce.sh scripts/pack-results.sh .carry/
cp -r cl .carry/cl # kernel sources, for runs with --kernel-dir (e.g. a sabotaged copy)
echo "carry: $(du -sh .carry | cut -f1) in .carry/"
# A lent machine receives the tracked files and .carry/ together, at most 64 MiB: say when the
# committed results leave too little room (a tracked path missing from the working tree is not
# sent, so moving results/ aside for the call and back after is enough).
tracked=$(git ls-files -z | xargs -0 stat -c %s 2>/dev/null | awk '{s += $1} END {print int(s / 1048576)}')
carried=$(du -sm .carry | cut -f1)
if [ $((tracked + carried)) -ge 62 ]; then
  echo "carry: tracked files ${tracked} MiB + .carry ${carried} MiB: over what a lent machine takes (64 MiB);" \
    "move results/ aside for the call (mv results /tmp/results-aside) and back after" >&2
fi
