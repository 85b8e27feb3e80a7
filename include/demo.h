/* demo.h: `clrepro demo order`, the non-associativity demonstration: the same values summed
 * in K random orders on the device, one order per work-item, with plain float32, float64,
 * compensated float32 and the exact accumulator; distinct results are counted. */
#ifndef CLREPRO_DEMO_H
#define CLREPRO_DEMO_H

#include <stdint.h>
#include "cli.h"

/* The permutation the kernels use (cl/demo.cl), replayed on the host. */
uint32_t clr_demo_half_bits(uint32_t n);
uint32_t clr_demo_key(uint32_t seed, uint32_t order);
uint32_t clr_demo_permuted(uint32_t i, uint32_t n, uint32_t half_bits, uint32_t key);

int clr_cmd_demo(const clr_cli *cli, clr_error *err);

#endif
