/* portable.c: the host's replay of cl/portable.clh (include/portable.h). The same text as the
 * kernels', compiled as C11 without contraction (-ffp-contract=off, set for this file in
 * CMakeLists.txt: GCC ignores the FP_CONTRACT pragma), so the bits are the device's. */
#include "portable.h"
#include "../cl/portable.clh"

/* On x86-64 ELF targets, a copy for CPUs with the FMA instruction is picked at load time: fmaf
 * is otherwise a library call and the function three times slower. Both copies are correctly
 * rounded fma, so both give the same bits. */
#if defined(__x86_64__) && defined(__ELF__) && defined(__has_attribute) && !defined(__clang__) /* clang 14 drops the symbol */
#if __has_attribute(target_clones)
#define CLR_PORTABLE_CLONES __attribute__((target_clones("fma", "default")))
#endif
#endif
#ifndef CLR_PORTABLE_CLONES
#define CLR_PORTABLE_CLONES
#endif

CLR_PORTABLE_CLONES float clr_portable_exp(float x)
{
    return portable_exp(x);
}

CLR_PORTABLE_CLONES float clr_portable_exp_diff(float a, float b)
{
    return portable_exp_diff(a, b);
}

CLR_PORTABLE_CLONES float clr_portable_div(float a, float b)
{
    return portable_div(a, b);
}
