#!/usr/bin/env bash
# carry-mpi.sh DEST — copy this machine's Open MPI 4.1.4 runtime (Debian 12: openmpi-bin,
# libopenmpi3, libpmix2 4.2.2) into DEST so that MPI programs built here with mpicc can be
# launched on another Linux x86_64 machine that has NO MPI installed and cannot install packages
# (the lent GPU machine: no MPI, no network, commands run as root in a container). There:
#   source DEST/env.sh && mpirun -np 4 ./prog      (or, without sourcing: DEST/mpirun -np 4 ./prog)
#
# Why each piece is needed:
#  - mpirun (orterun) forks the ranks of a single node itself; orted is only started on remote
#    nodes, copied anyway (small) in case a launch needs it.
#  - libmpi/libopen-rte/libopen-pal dlopen their MCA plugins (lib/openmpi3/) and read help texts
#    (share/openmpi/) and defaults (etc/openmpi/) from the configured install dirs (/usr/lib/...,
#    /usr/share/openmpi, /etc/openmpi); env.sh points all of them into DEST via OPAL_PREFIX,
#    OPAL_LIBDIR, OPAL_PKGLIBDIR, ... (Open MPI's documented relocation).
#  - Debian builds Open MPI against an external PMIx (libpmix.so.2 + 3 plugins + help texts under
#    /usr/lib/x86_64-linux-gnu/pmix2), relocated the same way with PMIX_PREFIX, PMIX_*DIR.
#  - The shared-library closure (ldd of every binary and plugin kept): libevent, libhwloc,
#    libmunge, ... go to DEST/lib, found through LD_LIBRARY_PATH. glibc's libraries (libc, libm,
#    libpthread, libdl, librt, ld-linux, ...) and the toolchain runtime (libgcc_s, libstdc++) are
#    never copied: the target's own must be used. Nothing OpenCL is copied (no hwloc plugins at
#    all: hwloc's opencl plugin would load libOpenCL into mpirun and every rank).
#  - libz and libudev are present on almost every system; they are kept in DEST/lib/fallback/<soname>/
#    and env.sh adds such a directory to LD_LIBRARY_PATH only when the target lacks that library.
#  - Plugins for hardware/network stacks that a single node without network does not use (UCX,
#    libfabric/OFI, verbs/openib, PSM/PSM2, netlink) and OpenSHMEM/Java ones are left out: they need
#    libraries (libucp, libfabric, libibverbs, libpsm*, libnl, liboshmem) the target doesn't have.
#    Open MPI skips a plugin it doesn't find; env.sh also selects pml ob1 and btl self,vader.
#
# Idempotent (DEST is removed first). DEST may be moved afterwards: env.sh finds its own directory.
set -euo pipefail

if [ $# -ne 1 ] || [ -z "$1" ]; then
  echo "usage: $0 DEST" >&2
  exit 2
fi
DEST=$1
MULTIARCH=/usr/lib/x86_64-linux-gnu
OMPI_LIB=$MULTIARCH/openmpi/lib
OMPI_PLUGINS=$OMPI_LIB/openmpi3
PMIX_ROOT=$MULTIARCH/pmix2

for f in /usr/bin/orterun /usr/bin/orted /usr/bin/ompi_info "$OMPI_PLUGINS" /usr/share/openmpi \
  "$PMIX_ROOT/lib/libpmix.so.2"; do
  [ -e "$f" ] || { echo "carry-mpi: $f missing (apt-get install openmpi-bin libopenmpi3)" >&2; exit 1; }
done

rm -rf "$DEST"
mkdir -p "$DEST"/{bin,lib/openmpi3,lib/fallback,lib/hwloc-plugins,share,etc/openmpi,pmix/lib/pmix,pmix/share,pmix/etc}
DEST=$(cd "$DEST" && pwd -P)

# --- binaries: mpirun = mpiexec = orterun -------------------------------------------------------
cp -L /usr/bin/orterun /usr/bin/orted /usr/bin/ompi_info "$DEST/bin/"
ln -s orterun "$DEST/bin/mpirun"
ln -s orterun "$DEST/bin/mpiexec"

# --- MCA plugins, minus those for absent hardware/network stacks, OpenSHMEM and Java ------------
skip_re='(ucx|ofi|openib|verbs|psm|reachable_netlink|mca_(atomic|memheap|scoll|spml|sshmem)_)'
skipped=()
for so in "$OMPI_PLUGINS"/*.so; do
  name=$(basename "$so")
  if [[ $name =~ $skip_re ]]; then skipped+=("${name%.so}"); continue; fi
  cp -L "$so" "$DEST/lib/openmpi3/"
done
cp -L "$PMIX_ROOT"/lib/pmix/*.so "$DEST/pmix/lib/pmix/"

# --- data: help texts (error messages are unreadable without them), default MCA params ------------
cp -rL /usr/share/openmpi "$DEST/share/openmpi"
rm -f "$DEST"/share/openmpi/*wrapper-data.txt # compiler wrappers are not carried
cp -rL "$PMIX_ROOT/share/pmix" "$DEST/pmix/share/pmix"
cp -L /etc/openmpi/openmpi-mca-params.conf /etc/openmpi/openmpi-default-hostfile "$DEST/etc/openmpi/"
# PMIx's own conf file holds an absolute plugin path (/usr/lib/.../pmix2/lib/pmix): write a
# relocatable one instead (env.sh sets PMIX_MCA_mca_base_component_path).
echo "# carried by scripts/carry-mpi.sh: the plugin path comes from env.sh" \
  >"$DEST/pmix/etc/pmix-mca-params.conf"

# --- shared-library closure ------------------------------------------------------------------------
# Never carried: glibc (must be the target's own), the toolchain runtime (a newer one on the
# target must win), libOpenCL (the target's ICD loader finds its drivers).
never_re='^(linux-vdso\.so|ld-linux|libc\.so|libm\.so|libmvec\.so|libpthread\.so|libdl\.so|librt\.so|libresolv\.so|libutil\.so|libanl\.so|libnsl\.so|libgcc_s\.so|libstdc\+\+\.so|libOpenCL)'
# Nearly universal; carried only as a fallback (see env.sh).
fallback_re='^(libz\.so|libudev\.so)'
objects=("$DEST"/bin/orterun "$DEST"/bin/orted "$DEST"/bin/ompi_info "$DEST"/lib/openmpi3/*.so
  "$PMIX_ROOT/lib/libpmix.so.2" "$DEST"/pmix/lib/pmix/*.so)
declare -A libs=()
for obj in "${objects[@]}"; do
  out=$(ldd "$obj")
  if grep -q 'not found' <<<"$out"; then
    echo "carry-mpi: $obj has unresolved libraries:" >&2
    grep 'not found' <<<"$out" >&2
    exit 1
  fi
  while read -r soname path; do
    [[ $soname =~ $never_re ]] && continue
    libs[$soname]=$path
  done < <(awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }' <<<"$out")
done
for soname in "${!libs[@]}"; do
  if [[ $soname =~ $fallback_re ]]; then
    mkdir -p "$DEST/lib/fallback/$soname"
    cp -L "${libs[$soname]}" "$DEST/lib/fallback/$soname/$soname"
  else
    cp -L "${libs[$soname]}" "$DEST/lib/$soname"
  fi
done
# Development symlink, so that `mpicc`-style links against DEST work too (-L DEST/lib -lmpi).
ln -s libmpi.so.40 "$DEST/lib/libmpi.so"

# Debian ships these stripped already; strip again in case a rebuilt package is not.
find "$DEST" -type f \( -name '*.so' -o -name '*.so.*' \) -exec strip --strip-unneeded {} + 2>/dev/null || true
strip --strip-unneeded "$DEST"/bin/orterun "$DEST"/bin/orted "$DEST"/bin/ompi_info 2>/dev/null || true

# --- env.sh ------------------------------------------------------------------------------------------
cat >"$DEST/env.sh" <<'EOF'
# Source with bash: `source DEST/env.sh`. Sets up the carried Open MPI 4.1.4 (see
# scripts/carry-mpi.sh in the project) so that `mpirun -np N ./prog` works on a machine without MPI.
# Every OMPI_MCA_* / PMIX_MCA_* default below keeps a value already set in the environment.
OMPI_CARRY_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
export OMPI_CARRY_DIR

# Binaries (mpirun, mpiexec, orted, ompi_info) first in PATH.
case ":$PATH:" in *":$OMPI_CARRY_DIR/bin:"*) ;; *) export PATH="$OMPI_CARRY_DIR/bin:$PATH" ;; esac

# Libraries: libmpi.so.40 (what prog links) and its closure. fallback/<soname>/ only where the
# system has no such library (LD_LIBRARY_PATH would otherwise override the system's, maybe newer, one).
_ompi_ld="$OMPI_CARRY_DIR/lib"
for _d in "$OMPI_CARRY_DIR"/lib/fallback/*/; do
  [ -d "$_d" ] || continue
  _so=$(basename "$_d")
  _have=
  for _sys in /lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu /lib64 /usr/lib64 /lib /usr/lib; do
    [ -e "$_sys/$_so" ] && { _have=1; break; }
  done
  [ -n "$_have" ] || _ompi_ld="$_ompi_ld:${_d%/}"
done
case ":${LD_LIBRARY_PATH:-}:" in
  *":$OMPI_CARRY_DIR/lib:"*) ;;
  *) export LD_LIBRARY_PATH="$_ompi_ld${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" ;;
esac
unset _ompi_ld _d _so _have _sys

# Relocation: Debian's build has /usr, /usr/lib/x86_64-linux-gnu/openmpi/lib(/openmpi3),
# /usr/share/openmpi and /etc/openmpi compiled in; these point every one of them into this dir.
export OPAL_PREFIX="$OMPI_CARRY_DIR"                      # install prefix (everything below derives from it)
export OPAL_EXEC_PREFIX="$OMPI_CARRY_DIR"
export OPAL_BINDIR="$OMPI_CARRY_DIR/bin"                  # where orted is looked for
export OPAL_LIBDIR="$OMPI_CARRY_DIR/lib"                  # libmpi & co.
export OPAL_PKGLIBDIR="$OMPI_CARRY_DIR/lib/openmpi3"      # MCA plugins (mca_*.so)
export OPAL_DATAROOTDIR="$OMPI_CARRY_DIR/share"
export OPAL_DATADIR="$OMPI_CARRY_DIR/share"
export OPAL_PKGDATADIR="$OMPI_CARRY_DIR/share/openmpi"    # help-*.txt (readable error messages)
export OPAL_SYSCONFDIR="$OMPI_CARRY_DIR/etc/openmpi"      # openmpi-mca-params.conf, default hostfile (was /etc/openmpi, absolute)
# Plugin search path set explicitly too (the default also adds ~/.openmpi/components).
export OMPI_MCA_mca_base_component_path="$OMPI_CARRY_DIR/lib/openmpi3"
# The external PMIx (libpmix.so.2, launch wire-up between mpirun and the ranks): same relocation.
export PMIX_PREFIX="$OMPI_CARRY_DIR/pmix"
export PMIX_EXEC_PREFIX="$OMPI_CARRY_DIR/pmix"
export PMIX_LIBDIR="$OMPI_CARRY_DIR/pmix/lib"
export PMIX_PKGLIBDIR="$OMPI_CARRY_DIR/pmix/lib/pmix"
export PMIX_DATAROOTDIR="$OMPI_CARRY_DIR/pmix/share"
export PMIX_DATADIR="$OMPI_CARRY_DIR/pmix/share"
export PMIX_PKGDATADIR="$OMPI_CARRY_DIR/pmix/share/pmix"
export PMIX_SYSCONFDIR="$OMPI_CARRY_DIR/pmix/etc"
export PMIX_MCA_mca_base_component_path="$OMPI_CARRY_DIR/pmix/lib/pmix"
# hwloc: load no plugins (this dir is empty). The system's, if any, could be another hwloc version,
# and its opencl/cuda/nvml plugins would initialise GPU runtimes inside mpirun and every rank.
export HWLOC_PLUGINS_PATH="$OMPI_CARRY_DIR/lib/hwloc-plugins"

# Running as root (the container): mpirun refuses it without both of these.
export OMPI_ALLOW_RUN_AS_ROOT=1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Launch locally only: the rsh/ssh launcher is never consulted (no ssh there, and Open MPI 4 may
# fail on a missing ssh even for a single node). mpirun forks the ranks itself.
export OMPI_MCA_plm="${OMPI_MCA_plm:-isolated}"
# Transports: loopback to self and shared memory between ranks; no TCP/InfiniBand probing.
export OMPI_MCA_btl="${OMPI_MCA_btl:-self,vader}"
# Point-to-point layer ob1 (over the btls above), never UCX/MTLs (not carried).
export OMPI_MCA_pml="${OMPI_MCA_pml:-ob1}"
# Shared-memory large messages by copy-in/copy-out: CMA (process_vm_readv) needs ptrace rights a
# container often withholds, which otherwise fails mid-run ("Read -1, expected ..., errno = 1").
export OMPI_MCA_btl_vader_single_copy_mechanism="${OMPI_MCA_btl_vader_single_copy_mechanism:-none}"
# mpirun <-> ranks control traffic over loopback only (the machine has no network; lo always exists).
export OMPI_MCA_oob_tcp_if_include="${OMPI_MCA_oob_tcp_if_include:-lo}"
# No process binding: each rank drives a GPU from host threads (the OpenCL driver's included);
# the default (bind to core for np <= 2) would squeeze them onto one core, and binding can fail
# in a cpuset-limited container. Set OMPI_MCA_hwloc_base_binding_policy=core to bind anyway.
export OMPI_MCA_hwloc_base_binding_policy="${OMPI_MCA_hwloc_base_binding_policy:-none}"
# Allow more ranks than the cores the container shows (no effect while np <= cores).
export OMPI_MCA_rmaps_base_oversubscribe="${OMPI_MCA_rmaps_base_oversubscribe:-1}"
# Don't warn about plugins skipped because they were not carried.
export OMPI_MCA_mca_base_component_show_load_errors="${OMPI_MCA_mca_base_component_show_load_errors:-0}"
EOF

cat >"$DEST/mpirun" <<'EOF'
#!/usr/bin/env bash
# Wrapper: `DEST/mpirun -np 4 ./prog` works without sourcing env.sh first.
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/env.sh"
exec "$OMPI_CARRY_DIR/bin/orterun" "$@"
EOF
chmod +x "$DEST/mpirun"

echo "carry-mpi: $(du -sh "$DEST" | cut -f1) in $DEST ($(find "$DEST" -type f | wc -l) files);" \
  "left out: ${skipped[*]}"
