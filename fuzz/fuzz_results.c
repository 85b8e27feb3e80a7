/* fuzz_results.c: libFuzzer target for the results reader (src/results.c). Build and run:
 *   cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCLREPRO_FUZZ=ON && cmake --build build-fuzz
 *   mkdir -p build-fuzz/corpus && build-fuzz/fuzz_results -max_total_time=600 build-fuzz/corpus fuzz/corpus
 * (new inputs go to the first directory, so the committed corpus stays small). Every input must
 * come back as a parsed document or one error, without a sanitizer report. The corpus holds
 * real results, hostile documents (markup, quotes, pipes, newlines and formulas in every string)
 * and names longer than any old fixed buffer in multi-byte UTF-8. */
#include <stddef.h>
#include <stdint.h>
#include "results.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    clr_rdoc doc;
    clr_error err = {0};
    if (clr_results_parse((const char *)data, size, "fuzz", &doc, &err) == CLR_OK)
        clr_rdoc_free(&doc);
    return 0;
}
