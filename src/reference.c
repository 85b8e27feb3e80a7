/* reference.c: the host's exact summation and ulp distances, against which every sum kernel
 * is validated (integer arithmetic only, so it is exact by construction), and the replay of the
 * canonical tree of cl/tree.clh (clr_tree_sum: float additions in the kernels' order). */
#include "reference.h"

#include <math.h>
#include <string.h>

uint32_t clr_float_bits(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

float clr_bits_float(uint32_t bits)
{
    float x;
    memcpy(&x, &bits, sizeof x);
    return x;
}

void clr_exact_init(clr_exact_acc *acc)
{
    memset(acc, 0, sizeof *acc);
    acc->only_negative_zeros = 1;
}

/* Brings every digit but the top one into [0, 2^32); the top digit carries the sign. */
static void propagate(clr_exact_acc *acc)
{
    for (int k = 0; k < CLR_EXACT_LIMBS - 1; ++k) {
        int64_t carry = acc->limb[k] >> 32; /* arithmetic shift: floor division */
        acc->limb[k] -= (int64_t)((uint64_t)carry << 32);
        acc->limb[k + 1] += carry;
    }
    acc->pending = 0;
}

void clr_exact_add(clr_exact_acc *acc, float x)
{
    uint32_t bits = clr_float_bits(x);
    uint32_t biased = (bits >> 23) & 0xff, frac = bits & 0x7fffff;
    acc->count++;
    if (bits != 0x80000000u)
        acc->only_negative_zeros = 0;
    if (biased == 0xff) {
        if (frac)
            acc->nan++;
        else if (bits >> 31)
            acc->neg_inf++;
        else
            acc->pos_inf++;
        return;
    }
    /* x = m * 2^(p - 149) with m < 2^24 and p in [0, 253]. */
    uint64_t m = biased ? (frac | 0x800000u) : frac;
    unsigned p = biased ? biased - 1 : 0;
    if (m == 0)
        return;
    uint64_t v = m << (p % 32); /* < 2^56 */
    int64_t lo = (int64_t)(v & 0xffffffffu), hi = (int64_t)(v >> 32);
    unsigned k = p / 32;
    if (bits >> 31) {
        acc->limb[k] -= lo;
        acc->limb[k + 1] -= hi;
    } else {
        acc->limb[k] += lo;
        acc->limb[k + 1] += hi;
    }
    /* Each digit moves by less than 2^32 per addition: propagate long before 2^63. */
    if (++acc->pending >= (1u << 28))
        propagate(acc);
}

/* Magnitude digits (each in [0, 2^32)) and sign of the accumulated finite sum. */
static int magnitude(clr_exact_acc *acc, uint32_t digits[CLR_EXACT_LIMBS])
{
    propagate(acc);
    int negative = acc->limb[CLR_EXACT_LIMBS - 1] < 0;
    int64_t tmp[CLR_EXACT_LIMBS];
    for (int k = 0; k < CLR_EXACT_LIMBS; ++k)
        tmp[k] = negative ? -acc->limb[k] : acc->limb[k];
    for (int k = 0; k < CLR_EXACT_LIMBS - 1; ++k) {
        int64_t carry = tmp[k] >> 32;
        tmp[k] -= (int64_t)((uint64_t)carry << 32);
        tmp[k + 1] += carry;
    }
    for (int k = 0; k < CLR_EXACT_LIMBS; ++k)
        digits[k] = (uint32_t)tmp[k];
    return negative;
}

static int bit_at(const uint32_t *d, int pos)
{
    return pos >= 0 && pos < 32 * CLR_EXACT_LIMBS && ((d[pos / 32] >> (pos % 32)) & 1u);
}

static int any_below(const uint32_t *d, int pos)
{
    for (int k = 0; k < CLR_EXACT_LIMBS && 32 * k < pos; ++k) {
        uint32_t mask = (32 * (k + 1) <= pos) ? 0xffffffffu : ((1u << (pos - 32 * k)) - 1u);
        if (d[k] & mask)
            return 1;
    }
    return 0;
}

/* Rounds the fixed-point magnitude to `precision` significant bits, nearest-even: returns the
 * integer significand and sets *shift so that the value is significand * 2^(shift - 149). */
static uint64_t round_digits(const uint32_t *d, int precision, int *shift)
{
    int top = -1;
    for (int pos = 32 * CLR_EXACT_LIMBS - 1; pos >= 0 && top < 0; --pos)
        if (bit_at(d, pos))
            top = pos;
    if (top < 0) {
        *shift = 0;
        return 0;
    }
    int s = top - (precision - 1);
    if (s < 0)
        s = 0; /* small enough to be exact: every addend is a multiple of 2^-149 */
    uint64_t sig = 0;
    for (int pos = top; pos >= s; --pos)
        sig = (sig << 1) | (uint64_t)bit_at(d, pos);
    if (s > 0 && bit_at(d, s - 1) && (any_below(d, s - 1) || (sig & 1u)))
        ++sig;
    if (sig >> precision) { /* rounding carried into a new bit */
        sig >>= 1;
        ++s;
    }
    *shift = s;
    return sig;
}

static int special(const clr_exact_acc *acc, double *out)
{
    if (acc->nan || (acc->pos_inf && acc->neg_inf)) {
        *out = NAN;
        return 1;
    }
    if (acc->pos_inf || acc->neg_inf) {
        *out = acc->pos_inf ? INFINITY : -INFINITY;
        return 1;
    }
    return 0;
}

float clr_exact_result(clr_exact_acc *acc)
{
    double sp;
    if (special(acc, &sp))
        return (float)sp;
    uint32_t d[CLR_EXACT_LIMBS];
    int negative = magnitude(acc, d);
    int shift;
    uint64_t sig = round_digits(d, 24, &shift);
    if (sig == 0)
        return (acc->only_negative_zeros && acc->count) ? -0.0f : 0.0f;
    /* sig < 2^24 and the scaling is by a power of two: exact, or overflow to inf. */
    float v = ldexpf((float)sig, shift - 149);
    return negative ? -v : v;
}

double clr_exact_result_double(clr_exact_acc *acc)
{
    double sp;
    if (special(acc, &sp))
        return sp;
    uint32_t d[CLR_EXACT_LIMBS];
    int negative = magnitude(acc, d);
    int shift;
    uint64_t sig = round_digits(d, 53, &shift);
    double v = ldexp((double)sig, shift - 149);
    return negative ? -v : v;
}

float clr_exact_sum(const float *x, size_t n)
{
    clr_exact_acc acc;
    clr_exact_init(&acc);
    for (size_t i = 0; i < n; ++i)
        clr_exact_add(&acc, x[i]);
    return clr_exact_result(&acc);
}

uint64_t clr_ulp_distance(float a, float b)
{
    int na = isnan(a), nb = isnan(b);
    if (na || nb)
        return (na && nb) ? 0 : UINT64_MAX;
    uint32_t ua = clr_float_bits(a), ub = clr_float_bits(b);
    int64_t ka = (ua >> 31) ? -(int64_t)(ua & 0x7fffffffu) : (int64_t)ua;
    int64_t kb = (ub >> 31) ? -(int64_t)(ub & 0x7fffffffu) : (int64_t)ub;
    return ka > kb ? (uint64_t)(ka - kb) : (uint64_t)(kb - ka);
}

/* Sum of level-`level` node `index` of the tree: level 0 nodes are the values, a node of level
 * L folds the CLR_TREE_BLOCK nodes of level L - 1 below it; those past the row are -0.0f. */
static float tree_node(const float *x, size_t n, unsigned level, size_t index)
{
    if (level == 0)
        return x[index];
    float v[CLR_TREE_BLOCK];
    size_t span = 1; /* elements under one child */
    for (unsigned l = 1; l < level; ++l)
        span *= CLR_TREE_BLOCK;
    for (size_t c = 0; c < CLR_TREE_BLOCK; ++c) {
        size_t child = index * CLR_TREE_BLOCK + c;
        v[c] = child < (n + span - 1) / span ? tree_node(x, n, level - 1, child) : -0.0f;
    }
    for (size_t h = CLR_TREE_BLOCK / 2; h > 0; h >>= 1)
        for (size_t i = 0; i < h; ++i)
            v[i] += v[i + h];
    return v[0];
}

static unsigned tree_levels(size_t n)
{
    unsigned levels = 1;
    for (size_t cover = CLR_TREE_BLOCK; cover < n; cover *= CLR_TREE_BLOCK)
        ++levels;
    return levels;
}

float clr_tree_sum(const float *x, size_t n)
{
    if (n == 0)
        return -0.0f;
    return tree_node(x, n, tree_levels(n), 0);
}

double clr_tree_depth(size_t n)
{
    unsigned levels = tree_levels(n);
    size_t top = n;
    for (unsigned l = 1; l < levels; ++l)
        top = (top + CLR_TREE_BLOCK - 1) / CLR_TREE_BLOCK;
    unsigned per_level = 0, top_level = 0; /* roundings: log2 of a block, and of the top count */
    for (size_t c = 1; c < CLR_TREE_BLOCK; c *= 2)
        ++per_level;
    for (size_t c = 1; c < top; c *= 2)
        ++top_level;
    return (double)per_level * (levels - 1) + top_level;
}
