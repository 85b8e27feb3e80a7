/* portable.h: the host's replay of cl/portable.clh, the exp that every conforming OpenCL device
 * computes to the same bits (only +, -, *, fma and exact scaling by powers of two). These
 * functions return exactly the bits a kernel's portable_exp / portable_exp_diff returns. */
#ifndef CLREPRO_PORTABLE_H
#define CLREPRO_PORTABLE_H

/* exp(x): at most 0.5203 ulp from the correctly rounded value over every float input, and
 * correctly rounded on all but 230522 of the 2^32 (test/test_portable.c); exp(NaN) is NaN,
 * exp(-inf) = +0, exp(+inf) = +inf, subnormal results rounded once. */
float clr_portable_exp(float x);
/* exp(a - b), and 1 when a == b (so -inf - -inf gives 1, not NaN): the online softmax merge. */
float clr_portable_exp_diff(float a, float b);

/* a / b from +, *, fma and bit operations (cl/portable.clh portable_div): within 1 ulp, correctly
 * rounded on nearly all inputs, IEEE specials; the same bits on every conforming device. */
float clr_portable_div(float a, float b);

#endif
