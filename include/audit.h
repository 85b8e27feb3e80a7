/* audit.h: `clrepro audit`, what each device's float32 arithmetic does, measured on a fixed
 * sample (cl/audit.cl): whether a*b + c is contracted into an fma, whether subnormal inputs and
 * results are flushed (add, mul, fma, division, sqrt), whether fma rounds once, and the accuracy
 * of exp, exp2, log, sqrt, rsqrt, division, their native_ and half_ variants and the portable
 * functions (cl/portable.clh) against the correctly rounded value, each with a fingerprint of
 * its outputs. Writes <out>/<device>/audit.{json,md} (schema clrepro.audit). The samples are
 * exposed so that tests can replay a probe on the host. */
#ifndef CLREPRO_AUDIT_H
#define CLREPRO_AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include "cli.h"

#define CLR_AUDIT_SCHEMA "clrepro.audit"
#define CLR_AUDIT_SCHEMA_VERSION 1
/* Mantissas per float32 exponent and sign in the sample of single inputs. */
#define CLR_AUDIT_PER_EXPONENT 4096

/* The single inputs of the function probes (exp, sqrt, ...), the same on every machine: every
 * exponent of float32 with both signs and CLR_AUDIT_PER_EXPONENT mantissas each (0, 1, the
 * largest, the middle one, the rest from a counter-based hash), the special values, and windows
 * of consecutive floats around each function's overflow and underflow thresholds. With x NULL,
 * only the count; else x holds that many. */
size_t clr_audit_unary_sample(float *x);
/* The pairs (a[i], b[i]) of the division probes; with a or b NULL, only the count. */
size_t clr_audit_pair_sample(float *a, float *b);
/* XXH64 (seed 0) of the outputs' bits in host byte order, every NaN first made 0x7fc00000 (NaN
 * payloads and signs are not arithmetic): the "fingerprint" of an accuracy probe. */
uint64_t clr_audit_fingerprint(const float *x, size_t n);

int clr_cmd_audit(const clr_cli *cli, clr_error *err);

#endif
