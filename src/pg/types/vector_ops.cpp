// Functions and operators of the vector type: distances (through the CPU's kernels),
// element-wise arithmetic, btree comparison, and the avg/sum aggregates.
#include "pg/types/vector.h"

#include <cmath>

extern "C" {
#include "utils/varbit.h"
}

// The SQL-callable functions of this file (C linkage, fmgr version 1).
extern "C" {
PG_FUNCTION_INFO_V1(l2_distance);
PG_FUNCTION_INFO_V1(vector_l2_squared_distance);
PG_FUNCTION_INFO_V1(inner_product);
PG_FUNCTION_INFO_V1(vector_negative_inner_product);
PG_FUNCTION_INFO_V1(cosine_distance);
PG_FUNCTION_INFO_V1(vector_spherical_distance);
PG_FUNCTION_INFO_V1(l1_distance);
PG_FUNCTION_INFO_V1(vector_dims);
PG_FUNCTION_INFO_V1(vector_norm);
PG_FUNCTION_INFO_V1(l2_normalize);
PG_FUNCTION_INFO_V1(binary_quantize);
PG_FUNCTION_INFO_V1(subvector);
PG_FUNCTION_INFO_V1(vector_add);
PG_FUNCTION_INFO_V1(vector_sub);
PG_FUNCTION_INFO_V1(vector_mul);
PG_FUNCTION_INFO_V1(vector_concat);
PG_FUNCTION_INFO_V1(vector_cmp);
PG_FUNCTION_INFO_V1(vector_lt);
PG_FUNCTION_INFO_V1(vector_le);
PG_FUNCTION_INFO_V1(vector_eq);
PG_FUNCTION_INFO_V1(vector_ne);
PG_FUNCTION_INFO_V1(vector_ge);
PG_FUNCTION_INFO_V1(vector_gt);
PG_FUNCTION_INFO_V1(vector_accum);
PG_FUNCTION_INFO_V1(vector_combine);
PG_FUNCTION_INFO_V1(vector_avg);
}

// Reads both arguments and checks they have the same dimensions.
static void view_pair(FunctionCallInfo fcinfo, VectorView *a, VectorView *b) {
    VS_GETARG_VIEW(0, a);
    VS_GETARG_VIEW(1, b);
    check_same_dims(a->dim, b->dim);
}

using InDouble = double (*)(const float *a, const float *b, std::size_t n) noexcept;

// The kernel's distance as the double a SQL function returns; where the kernel had to clamp it
// to the float range, the double version's value, so that no finite input gives an infinity.
static double distance(vs::DistanceFn kernel, InDouble in_double, const VectorView &a, const VectorView &b) {
    float d = kernel(a.x, b.x, a.dim);
    return vs::at_float_limit(d) ? in_double(a.x, b.x, a.dim) : double(d);
}

Datum l2_distance(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum {
        VectorView a, b;
        view_pair(fcinfo, &a, &b);
        PG_RETURN_FLOAT8(std::sqrt(distance(vs_kernels.l2_squared, vs::l2_squared_double, a, b)));
    });
}

Datum vector_l2_squared_distance(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum {
        VectorView a, b;
        view_pair(fcinfo, &a, &b);
        PG_RETURN_FLOAT8(distance(vs_kernels.l2_squared, vs::l2_squared_double, a, b));
    });
}

Datum inner_product(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum {
        VectorView a, b;
        view_pair(fcinfo, &a, &b);
        PG_RETURN_FLOAT8(distance(vs_kernels.inner_product, vs::inner_product_double, a, b));
    });
}

Datum vector_negative_inner_product(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum {
        VectorView a, b;
        view_pair(fcinfo, &a, &b);
        PG_RETURN_FLOAT8(-distance(vs_kernels.inner_product, vs::inner_product_double, a, b));
    });
}

Datum cosine_distance(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum {
        VectorView a, b;
        view_pair(fcinfo, &a, &b);
        PG_RETURN_FLOAT8(vs::cosine_distance(vs_kernels.cosine_parts(a.x, b.x, a.dim)));
    });
}

// Angle between unit vectors scaled to [0, 1]; a metric, unlike cosine distance.
Datum vector_spherical_distance(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum {
        VectorView a, b;
        view_pair(fcinfo, &a, &b);
        double dot = distance(vs_kernels.inner_product, vs::inner_product_double, a, b);
        dot = std::fmin(1.0, std::fmax(-1.0, dot));
        PG_RETURN_FLOAT8(std::acos(dot) / M_PI);
    });
}

Datum l1_distance(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum {
        VectorView a, b;
        view_pair(fcinfo, &a, &b);
        PG_RETURN_FLOAT8(distance(vs_kernels.l1, vs::l1_double, a, b));
    });
}

Datum vector_dims(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum {
        VectorView v;
        VS_GETARG_VIEW(0, &v);
        PG_RETURN_INT32(v.dim);
    });
}

static double norm(const VectorView &v) {
    double sum = 0;
    for (int i = 0; i < v.dim; i++) sum += double(v.x[i]) * double(v.x[i]);
    return std::sqrt(sum);
}

Datum vector_norm(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum {
        VectorView v;
        VS_GETARG_VIEW(0, &v);
        PG_RETURN_FLOAT8(norm(v));
    });
}

// A zero vector has no direction; like pgvector it is returned as it is.
Datum l2_normalize(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum {
        VectorView v;
        VS_GETARG_VIEW(0, &v);
        Vector *result = new_vector(v.dim);
        double n = norm(v);
        if (n > 0) {
            for (int i = 0; i < v.dim; i++) {
                result->x[i] = float(double(v.x[i]) / n);
                if (std::isinf(result->x[i])) float_overflow_error();
            }
        }
        PG_RETURN_POINTER(result);
    });
}

// One bit per element, set where the element is positive: a cheap code for Hamming search.
Datum binary_quantize(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum {
        VectorView v;
        VS_GETARG_VIEW(0, &v);
        VarBit *result = static_cast<VarBit *>(palloc0(VARBITTOTALLEN(v.dim)));
        SET_VARSIZE(result, VARBITTOTALLEN(v.dim));
        VARBITLEN(result) = v.dim;
        for (int i = 0; i < v.dim; i++)
            if (v.x[i] > 0) VARBITS(result)[i / 8] |= bits8(1 << (7 - i % 8));
        PG_RETURN_VARBIT_P(result);
    });
}

// subvector(v, start, count): elements start .. start + count - 1, 1-based like substring.
Datum subvector(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum {
        VectorView v;
        VS_GETARG_VIEW(0, &v);
        int32 start = PG_GETARG_INT32(1);
        int32 count = PG_GETARG_INT32(2);
        if (count < 1) check_dims(0);
        // end is one past the last element; computed in 64 bits so start + count cannot overflow.
        int64 end = std::min(int64(start) + int64(count), int64(v.dim) + 1);
        if (start < 1) start = 1;
        if (start > v.dim) check_dims(0);
        int dim = int(end - start);
        check_dims(dim);
        Vector *result = new_vector(dim);
        memcpy(result->x, v.x + (start - 1), sizeof(float) * dim);
        PG_RETURN_POINTER(result);
    });
}

// In an aggregate (sum's transition and combine steps) the left operand is the running state
// and is updated in place instead of allocating a vector per row.
static Vector *result_for(FunctionCallInfo fcinfo, int dim) {
    if (AggCheckCallContext(fcinfo, nullptr)) {
        Datum state = PG_GETARG_DATUM(0);
        if (!VARATT_IS_EXTENDED(DatumGetPointer(state))) return reinterpret_cast<Vector *>(DatumGetPointer(state));
    }
    return new_vector(dim);
}

template <typename Op>
static Datum elementwise(FunctionCallInfo fcinfo, Op op) {
    VectorView a, b;
    view_pair(fcinfo, &a, &b);
    Vector *result = result_for(fcinfo, a.dim);
    for (int i = 0; i < a.dim; i++) {
        result->x[i] = op(a.x[i], b.x[i]);
        if (std::isinf(result->x[i])) float_overflow_error();
    }
    PG_RETURN_POINTER(result);
}

Datum vector_add(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum {
        return elementwise(fcinfo, [](float x, float y) { return x + y; });
    });
}

Datum vector_sub(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum {
        return elementwise(fcinfo, [](float x, float y) { return x - y; });
    });
}

Datum vector_mul(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum {
        return elementwise(fcinfo, [](float x, float y) {
            float product = x * y;
            if (product == 0 && x != 0 && y != 0) float_underflow_error();
            return product;
        });
    });
}

Datum vector_concat(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum {
        VectorView a, b;
        VS_GETARG_VIEW(0, &a);
        VS_GETARG_VIEW(1, &b);
        check_dims(a.dim + b.dim);
        Vector *result = new_vector(a.dim + b.dim);
        memcpy(result->x, a.x, sizeof(float) * a.dim);
        memcpy(result->x + a.dim, b.x, sizeof(float) * b.dim);
        PG_RETURN_POINTER(result);
    });
}

// Lexicographic order over the elements, then shorter first: any two vectors compare, so a
// btree index or ORDER BY works on a column with mixed dimensions.
static int compare(FunctionCallInfo fcinfo) {
    VectorView a, b;
    VS_GETARG_VIEW(0, &a);
    VS_GETARG_VIEW(1, &b);
    int n = std::min(a.dim, b.dim);
    for (int i = 0; i < n; i++) {
        if (a.x[i] < b.x[i]) return -1;
        if (a.x[i] > b.x[i]) return 1;
    }
    return (a.dim > b.dim) - (a.dim < b.dim);
}

Datum vector_cmp(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { PG_RETURN_INT32(compare(fcinfo)); });
}
Datum vector_lt(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { PG_RETURN_BOOL(compare(fcinfo) < 0); });
}
Datum vector_le(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { PG_RETURN_BOOL(compare(fcinfo) <= 0); });
}
Datum vector_eq(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { PG_RETURN_BOOL(compare(fcinfo) == 0); });
}
Datum vector_ne(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { PG_RETURN_BOOL(compare(fcinfo) != 0); });
}
Datum vector_ge(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { PG_RETURN_BOOL(compare(fcinfo) >= 0); });
}
Datum vector_gt(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { PG_RETURN_BOOL(compare(fcinfo) > 0); });
}

// avg(vector) state: a float8[] of {count, sum_1, ..., sum_dim}; initially {0}. Sums are kept
// in double so that averaging many rows does not lose the small ones.
//
// Any caller can pass any float8[] as a state (a direct call, or an aggregate of its own with
// another INITCOND), so every state is checked before it is read: a bad one is an invalid
// argument (22023), never a wrong average. pgvector checks only the shape, with an internal
// error (XX000); the message is its.
pg_attribute_noreturn() static void invalid_state(const char *caller, const char *detail);
static void invalid_state(const char *caller, const char *detail) {
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("%s: expected state array", caller),
                    errdetail("%s", detail)));
}

pg_attribute_noreturn() static void invalid_sum(const char *caller, int index, double sum);
static void invalid_sum(const char *caller, int index, double sum) {
    invalid_state(caller, psprintf("Sum %d is %g, not a finite number.", index, sum));
}

// The values of a state that this file built or has already checked.
static double *state_data(ArrayType *state) { return reinterpret_cast<double *>(ARR_DATA_PTR(state)); }

// vector_accum runs once per row and adds to every sum anyway: it checks that each is finite as
// it adds to it, rather than in a second pass over the state.
enum class SumsChecked { Here, ByCaller };

static double *checked_state(ArrayType *state, const char *caller, int *dim, SumsChecked sums_checked) {
    if (ARR_NDIM(state) != 1 || ARR_DIMS(state)[0] < 1 || ARR_HASNULL(state) || ARR_ELEMTYPE(state) != FLOAT8OID)
        invalid_state(caller, "A state is a one-dimensional float8 array without nulls: a count, then one sum per "
                              "dimension.");
    if (ARR_DIMS(state)[0] - 1 > VECTOR_MAX_DIM)
        invalid_state(caller, psprintf("The state has %d sums; a vector has at most %d dimensions.",
                                       ARR_DIMS(state)[0] - 1, VECTOR_MAX_DIM));
    *dim = ARR_DIMS(state)[0] - 1;
    double *values = state_data(state);
    double count = values[0];
    if (!(std::isfinite(count) && count >= 0 && count == std::floor(count)))
        invalid_state(caller, psprintf("The count of rows is %g, not a whole number of at least 0.", count));
    if (count > 0 && *dim == 0) invalid_state(caller, "A state that counts rows must have at least one sum.");
    if (count == 0) {
        for (int i = 1; i <= *dim; i++)
            if (values[i] != 0) invalid_state(caller, "A state that counts no rows must have sums of zero.");
    } else if (sums_checked == SumsChecked::Here) {
        for (int i = 1; i <= *dim; i++)
            if (!std::isfinite(values[i])) invalid_sum(caller, i, values[i]);
    }
    return values;
}

static ArrayType *new_state(int dim) {
    Datum *zeros = static_cast<Datum *>(palloc(sizeof(Datum) * (dim + 1)));
    for (int i = 0; i <= dim; i++) zeros[i] = Float8GetDatum(0);
    return construct_array(zeros, dim + 1, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
}

// Inside an aggregate the state belongs to it and is updated in place; a direct call (or a
// state of another size) gets a fresh array.
Datum vector_accum(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum {
        ArrayType *input = PG_GETARG_ARRAYTYPE_P(0);
        int state_dim;
        const double *previous = checked_state(input, "vector_accum", &state_dim, SumsChecked::ByCaller);
        VectorView v;
        VS_GETARG_VIEW(1, &v);
        if (state_dim != 0) check_expected_dims(state_dim, v.dim);

        bool in_place = state_dim == v.dim && AggCheckCallContext(fcinfo, nullptr);
        ArrayType *state = in_place ? input : new_state(v.dim);
        double *sums = state_data(state);
        if (!in_place && state_dim == v.dim) memcpy(sums, previous, sizeof(double) * (v.dim + 1));
        sums[0] += 1;
        for (int i = 0; i < v.dim; i++) {
            double before = sums[i + 1];
            sums[i + 1] = before + double(v.x[i]);
            if (!std::isfinite(sums[i + 1])) {
                if (!std::isfinite(before)) invalid_sum("vector_accum", i + 1, before);
                float_overflow_error();
            }
        }
        PG_RETURN_ARRAYTYPE_P(state);
    });
}

Datum vector_combine(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum {
        ArrayType *state1 = PG_GETARG_ARRAYTYPE_P(0);
        int dim1, dim2;
        const double *values1 = checked_state(state1, "vector_combine", &dim1, SumsChecked::Here);
        const double *values2 = checked_state(PG_GETARG_ARRAYTYPE_P(1), "vector_combine", &dim2, SumsChecked::Here);
        if (values2[0] == 0) PG_RETURN_ARRAYTYPE_P(state1);
        if (values1[0] == 0) PG_RETURN_ARRAYTYPE_P(PG_GETARG_ARRAYTYPE_P_COPY(1));
        check_expected_dims(dim1, dim2);

        ArrayType *result = AggCheckCallContext(fcinfo, nullptr) ? state1 : new_state(dim1);
        double *sums = state_data(result);
        for (int i = 0; i <= dim1; i++) {
            sums[i] = values1[i] + values2[i];
            if (std::isinf(sums[i])) float_overflow_error();
        }
        PG_RETURN_ARRAYTYPE_P(result);
    });
}

Datum vector_avg(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum {
        int dim;
        const double *values = checked_state(PG_GETARG_ARRAYTYPE_P(0), "vector_avg", &dim, SumsChecked::Here);
        if (values[0] == 0) PG_RETURN_NULL();
        Vector *result = new_vector(dim);
        for (int i = 0; i < dim; i++) {
            result->x[i] = float(values[i + 1] / values[0]);
            check_element(result->x[i]);
        }
        PG_RETURN_POINTER(result);
    });
}
