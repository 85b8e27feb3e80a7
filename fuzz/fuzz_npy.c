/* fuzz_npy.c: libFuzzer target for the .npy reader (src/npy.c). Build and run:
 *   cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCLREPRO_FUZZ=ON && cmake --build build-fuzz
 *   mkdir -p /tmp/npy-corpus && build-fuzz/fuzz_npy -max_total_time=600 -rss_limit_mb=512 -malloc_limit_mb=64 \
 *       -dict=fuzz/npy.dict /tmp/npy-corpus fuzz/corpus-npy   (new inputs go to the first folder)
 * Every input must come back as rows of floats or one error, without a sanitizer report, and
 * without allocating more than the input holds (-rss_limit_mb and -malloc_limit_mb catch a
 * header that makes the reader ask for memory the file does not back). A result must also be
 * consistent: as many values as the shape says, all of them from the input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    float *values;
    size_t rows, cols;
    clr_error err = {0};
    int rc = clr_npy_decode_f32(data, size, "fuzz.npy", &values, &rows, &cols, &err);
    if (rc == CLR_OK) {
        /* The values are the input's last rows * cols * 4 bytes (in host order, here). */
        if (rows == 0 || cols == 0 || rows * cols * sizeof(float) > size ||
            memcmp(values, data + size - rows * cols * sizeof(float), rows * cols * sizeof(float)) != 0)
            abort();
        free(values);
    } else if (values != NULL || err.code != rc || err.msg[0] == '\0' || strchr(err.msg, '\n')) {
        abort(); /* a refusal is one line of message and nothing allocated */
    }
    return 0;
}
