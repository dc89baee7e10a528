// The distances pgvector adds to PostgreSQL's own bit type (never a type of ours: bit columns,
// binary_quantize's results and their indexes stay pg_catalog.bit): Hamming and Jaccard, through
// the CPU's popcount kernels.
#include "pg/types/bit.h"

extern "C" {
#include "utils/varbit.h"
}

extern "C" {
PG_FUNCTION_INFO_V1(hamming_distance);
PG_FUNCTION_INFO_V1(jaccard_distance);
}

vs::BitKernels vs_bit_kernels = vs::select_bit_kernels(vs::Isa::Scalar);

// Both arguments, which must be of one length, as pgvector requires. Bits past the length are
// zero in every bit value PostgreSQL makes, so whole bytes can be counted.
static void bit_pair(FunctionCallInfo fcinfo, VarBit **a, VarBit **b) {
    *a = PG_GETARG_VARBIT_P(0);
    *b = PG_GETARG_VARBIT_P(1);
    if (VARBITLEN(*a) != VARBITLEN(*b))
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                        errmsg("different bit lengths %u and %u", VARBITLEN(*a), VARBITLEN(*b))));
}

static Datum bit_hamming_distance(FunctionCallInfo fcinfo) {
    VarBit *a, *b;
    bit_pair(fcinfo, &a, &b);
    PG_RETURN_FLOAT8(double(vs_bit_kernels.hamming(VARBITS(a), VARBITS(b), VARBITBYTES(a))));
}

static Datum bit_jaccard_distance(FunctionCallInfo fcinfo) {
    VarBit *a, *b;
    bit_pair(fcinfo, &a, &b);
    PG_RETURN_FLOAT8(vs::jaccard_distance(vs_bit_kernels.jaccard_counts(VARBITS(a), VARBITS(b), VARBITBYTES(a))));
}

Datum hamming_distance(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return bit_hamming_distance(fcinfo); });
}
Datum jaccard_distance(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return bit_jaccard_distance(fcinfo); });
}
