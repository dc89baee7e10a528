// Library entry: the module magic and _PG_init, which picks the distance kernels for this CPU
// once, before any function of the extension runs.
#include "pg/hnsw/hnsw.h"
#include "pg/lsh/lsh.h"
#include "pg/test_hooks.h"
#include "pg/types/bit.h"

extern "C" {
PG_MODULE_MAGIC;

void _PG_init(void);
}

void _PG_init(void) {
    vs::Isa isa = vs::detect_isa();
    vs_kernels = vs::select_kernels(isa);
    vs_half_kernels = vs::select_half_kernels(isa);
    vs_bit_kernels = vs::select_bit_kernels(isa);
    hnsw_init_gucs();
    lsh_init_gucs();
#ifdef VS_TEST_HOOKS
    vs_test_hooks_init();
#endif
}
