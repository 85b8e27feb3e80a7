/* reference.h: host references and ulp arithmetic. The exact sum is a fixed-point long
 * accumulator covering every float32 (subnormals to FLT_MAX), rounded once to nearest-even:
 * the correctly rounded sum, whatever the order of the addends. */
#ifndef CLREPRO_REFERENCE_H
#define CLREPRO_REFERENCE_H

#include <stddef.h>
#include <stdint.h>

#define CLR_EXACT_LIMBS 12 /* 32-bit digits at weights 2^-149 ... 2^235: 277 bits + headroom */
/* The kernels' long accumulator (cl/exact.clh, given it as -DEXACT_LIMBS): 64-bit carry-save
 * digits at weights 2^(32k - 149), and one flag word after them in memory. */
#define CLR_CL_EXACT_LIMBS 10
#define CLR_CL_EXACT_WORDS (CLR_CL_EXACT_LIMBS + 1)

typedef struct clr_exact_acc {
    int64_t limb[CLR_EXACT_LIMBS]; /* carry-save: digit k weighs 2^(32k - 149) */
    uint64_t pending;              /* additions since the last carry propagation */
    uint64_t pos_inf, neg_inf, nan;
    int only_negative_zeros;       /* every addend so far was -0 (or none) */
    uint64_t count;
} clr_exact_acc;

void clr_exact_init(clr_exact_acc *acc);
void clr_exact_add(clr_exact_acc *acc, float x);
/* Correctly rounded (nearest-even) float32 value of the accumulated sum. IEEE semantics for
 * specials: any NaN, or +inf with -inf, gives NaN; a finite sum beyond FLT_MAX rounds to inf. */
float clr_exact_result(clr_exact_acc *acc);
/* The exact sum rounded to double (for error bounds and reporting). */
double clr_exact_result_double(clr_exact_acc *acc);

float clr_exact_sum(const float *x, size_t n);

/* The canonical tree of cl/tree.clh, replayed: aligned blocks of CLR_TREE_BLOCK values, each
 * folded (x[i] += x[i + h], h = CLR_TREE_BLOCK/2 down to 1; missing values are -0.0f, the
 * identity), the block sums forming the next level, until one value is left. x holds the values
 * the kernel folds, each already transformed as its kernel transforms an element (rounded once):
 * the row itself for sum `tree`, the squares x_i * x_i for rmsnorm `portable`, the exponentials
 * portable_exp(x_i - m) for softmax `portable`. */
#define CLR_TREE_BLOCK 4096 /* the kernels get it as -DTREE_BLOCK (sum, rmsnorm, softmax) */
float clr_tree_sum(const float *x, size_t n);
/* Roundings on the longest path of that tree. */
double clr_tree_depth(size_t n);

/* Distance in units in the last place: how many float32 values lie between a and b
 * (+0 and -0 are the same point). Both NaN: 0. One NaN: UINT64_MAX. */
uint64_t clr_ulp_distance(float a, float b);
uint32_t clr_float_bits(float x);
float clr_bits_float(uint32_t bits);

#endif
