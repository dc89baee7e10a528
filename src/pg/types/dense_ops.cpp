// Functions and operators of the dense types, written once over the type (dense.h) and
// instantiated for vector and halfvec: distances (through the CPU's kernels), element-wise
// arithmetic, btree comparison, and the avg/sum aggregates. Arithmetic on halves is done in
// float and rounded back, as pgvector does.
#include "pg/types/dense.h"

#include <cmath>
#include <functional>

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
PG_FUNCTION_INFO_V1(halfvec_l2_distance);
PG_FUNCTION_INFO_V1(halfvec_l2_squared_distance);
PG_FUNCTION_INFO_V1(halfvec_inner_product);
PG_FUNCTION_INFO_V1(halfvec_negative_inner_product);
PG_FUNCTION_INFO_V1(halfvec_cosine_distance);
PG_FUNCTION_INFO_V1(halfvec_spherical_distance);
PG_FUNCTION_INFO_V1(halfvec_l1_distance);
PG_FUNCTION_INFO_V1(halfvec_vector_dims);
PG_FUNCTION_INFO_V1(halfvec_l2_norm);
PG_FUNCTION_INFO_V1(halfvec_l2_normalize);
PG_FUNCTION_INFO_V1(halfvec_binary_quantize);
PG_FUNCTION_INFO_V1(halfvec_subvector);
PG_FUNCTION_INFO_V1(halfvec_add);
PG_FUNCTION_INFO_V1(halfvec_sub);
PG_FUNCTION_INFO_V1(halfvec_mul);
PG_FUNCTION_INFO_V1(halfvec_concat);
PG_FUNCTION_INFO_V1(halfvec_cmp);
PG_FUNCTION_INFO_V1(halfvec_lt);
PG_FUNCTION_INFO_V1(halfvec_le);
PG_FUNCTION_INFO_V1(halfvec_eq);
PG_FUNCTION_INFO_V1(halfvec_ne);
PG_FUNCTION_INFO_V1(halfvec_ge);
PG_FUNCTION_INFO_V1(halfvec_gt);
PG_FUNCTION_INFO_V1(halfvec_accum);
PG_FUNCTION_INFO_V1(halfvec_avg);
}

// Reads both arguments and checks they have the same dimensions.
template <class T>
static void view_pair(FunctionCallInfo fcinfo, DenseView<T> *a, DenseView<T> *b) {
    VS_GETARG_VIEW(0, a);
    VS_GETARG_VIEW(1, b);
    check_same_dims<T>(a->dim, b->dim);
}

// The distance functions take the kernel's result as a double (dense.h).
template <class T, double (*Distance)(const typename T::Element *, const typename T::Element *, int)>
static double pair_distance(FunctionCallInfo fcinfo) {
    DenseView<T> a, b;
    view_pair(fcinfo, &a, &b);
    return Distance(a.x, b.x, a.dim);
}

template <class T>
static Datum dense_l2_distance(FunctionCallInfo fcinfo) {
    PG_RETURN_FLOAT8(std::sqrt((pair_distance<T, T::l2_squared>(fcinfo))));
}

template <class T>
static Datum dense_l2_squared_distance(FunctionCallInfo fcinfo) {
    PG_RETURN_FLOAT8((pair_distance<T, T::l2_squared>(fcinfo)));
}

template <class T>
static Datum dense_inner_product(FunctionCallInfo fcinfo) {
    PG_RETURN_FLOAT8((pair_distance<T, T::inner_product>(fcinfo)));
}

template <class T>
static Datum dense_negative_inner_product(FunctionCallInfo fcinfo) {
    PG_RETURN_FLOAT8(-(pair_distance<T, T::inner_product>(fcinfo)));
}

template <class T>
static Datum dense_cosine_distance(FunctionCallInfo fcinfo) {
    DenseView<T> a, b;
    view_pair(fcinfo, &a, &b);
    PG_RETURN_FLOAT8(vs::cosine_distance(T::cosine_parts(a.x, b.x, a.dim)));
}

// Angle between unit vectors scaled to [0, 1]; a metric, unlike cosine distance.
template <class T>
static Datum dense_spherical_distance(FunctionCallInfo fcinfo) {
    double dot = pair_distance<T, T::inner_product>(fcinfo);
    dot = std::fmin(1.0, std::fmax(-1.0, dot));
    PG_RETURN_FLOAT8(std::acos(dot) / M_PI);
}

template <class T>
static Datum dense_l1_distance(FunctionCallInfo fcinfo) {
    PG_RETURN_FLOAT8((pair_distance<T, T::l1>(fcinfo)));
}

template <class T>
static Datum dense_dims(FunctionCallInfo fcinfo) {
    DenseView<T> v;
    VS_GETARG_VIEW(0, &v);
    PG_RETURN_INT32(v.dim);
}

template <class T>
static double norm(const DenseView<T> &v) {
    double sum = 0;
    for (int i = 0; i < v.dim; i++) {
        double x = T::widen(v.x[i]);
        sum += x * x;
    }
    return std::sqrt(sum);
}

template <class T>
static Datum dense_norm(FunctionCallInfo fcinfo) {
    DenseView<T> v;
    VS_GETARG_VIEW(0, &v);
    PG_RETURN_FLOAT8(norm(v));
}

// A zero vector has no direction; like pgvector it is returned as it is.
template <class T>
static Datum dense_l2_normalize(FunctionCallInfo fcinfo) {
    DenseView<T> v;
    VS_GETARG_VIEW(0, &v);
    Dense<T> *result = new_dense<T>(v.dim);
    double n = norm(v);
    if (n > 0) {
        for (int i = 0; i < v.dim; i++) {
            result->x[i] = T::narrow(float(double(T::widen(v.x[i])) / n));
            if (std::isinf(T::widen(result->x[i]))) float_overflow_error();
        }
    }
    PG_RETURN_POINTER(result);
}

// One bit per element, set where the element is positive: a cheap code for Hamming search.
template <class T>
static Datum dense_binary_quantize(FunctionCallInfo fcinfo) {
    DenseView<T> v;
    VS_GETARG_VIEW(0, &v);
    VarBit *result = static_cast<VarBit *>(palloc0(VARBITTOTALLEN(v.dim)));
    SET_VARSIZE(result, VARBITTOTALLEN(v.dim));
    VARBITLEN(result) = v.dim;
    for (int i = 0; i < v.dim; i++)
        if (T::widen(v.x[i]) > 0) VARBITS(result)[i / 8] |= bits8(1 << (7 - i % 8));
    PG_RETURN_VARBIT_P(result);
}

// subvector(v, start, count): elements start .. start + count - 1, 1-based like substring.
template <class T>
static Datum dense_subvector(FunctionCallInfo fcinfo) {
    DenseView<T> v;
    VS_GETARG_VIEW(0, &v);
    int32 start = PG_GETARG_INT32(1);
    int32 count = PG_GETARG_INT32(2);
    if (count < 1) check_dims<T>(0);
    // end is one past the last element; computed in 64 bits so start + count cannot overflow.
    int64 end = std::min(int64(start) + int64(count), int64(v.dim) + 1);
    if (start < 1) start = 1;
    if (start > v.dim) check_dims<T>(0);
    int dim = int(end - start);
    check_dims<T>(dim);
    Dense<T> *result = new_dense<T>(dim);
    memcpy(result->x, v.x + (start - 1), sizeof(v.x[0]) * dim);
    PG_RETURN_POINTER(result);
}

// In an aggregate (sum's transition and combine steps) the left operand is the running state
// and is updated in place instead of allocating a value per row.
template <class T>
static Dense<T> *result_for(FunctionCallInfo fcinfo, int dim) {
    if (AggCheckCallContext(fcinfo, nullptr)) {
        Datum state = PG_GETARG_DATUM(0);
        if (!VARATT_IS_EXTENDED(DatumGetPointer(state))) return reinterpret_cast<Dense<T> *>(DatumGetPointer(state));
    }
    return new_dense<T>(dim);
}

// Each element computed in float and narrowed to the type: an infinity is an overflow, and for
// a product, a zero from two non-zero elements an underflow.
enum class Checks { Overflow, OverflowAndUnderflow };

template <class T, Checks checks, typename Op>
static Datum elementwise(FunctionCallInfo fcinfo, Op op) {
    DenseView<T> a, b;
    view_pair(fcinfo, &a, &b);
    Dense<T> *result = result_for<T>(fcinfo, a.dim);
    for (int i = 0; i < a.dim; i++) {
        float x = T::widen(a.x[i]), y = T::widen(b.x[i]);
        result->x[i] = T::narrow(op(x, y));
        float r = T::widen(result->x[i]);
        if (std::isinf(r)) float_overflow_error();
        if (checks == Checks::OverflowAndUnderflow && r == 0 && x != 0 && y != 0) float_underflow_error();
    }
    PG_RETURN_POINTER(result);
}

template <class T>
static Datum dense_add(FunctionCallInfo fcinfo) {
    return elementwise<T, Checks::Overflow>(fcinfo, [](float x, float y) { return x + y; });
}

template <class T>
static Datum dense_sub(FunctionCallInfo fcinfo) {
    return elementwise<T, Checks::Overflow>(fcinfo, [](float x, float y) { return x - y; });
}

template <class T>
static Datum dense_mul(FunctionCallInfo fcinfo) {
    return elementwise<T, Checks::OverflowAndUnderflow>(fcinfo, [](float x, float y) { return x * y; });
}

template <class T>
static Datum dense_concat(FunctionCallInfo fcinfo) {
    DenseView<T> a, b;
    VS_GETARG_VIEW(0, &a);
    VS_GETARG_VIEW(1, &b);
    check_dims<T>(a.dim + b.dim);
    Dense<T> *result = new_dense<T>(a.dim + b.dim);
    memcpy(result->x, a.x, sizeof(a.x[0]) * a.dim);
    memcpy(result->x + a.dim, b.x, sizeof(b.x[0]) * b.dim);
    PG_RETURN_POINTER(result);
}

// Lexicographic order over the elements' values (so -0 equals 0), then shorter first: any two
// values compare, so a btree index or ORDER BY works on a column with mixed dimensions.
template <class T>
static int compare(FunctionCallInfo fcinfo) {
    DenseView<T> a, b;
    VS_GETARG_VIEW(0, &a);
    VS_GETARG_VIEW(1, &b);
    int n = std::min(a.dim, b.dim);
    for (int i = 0; i < n; i++) {
        float x = T::widen(a.x[i]), y = T::widen(b.x[i]);
        if (x < y) return -1;
        if (x > y) return 1;
    }
    return (a.dim > b.dim) - (a.dim < b.dim);
}

template <class T>
static Datum dense_cmp(FunctionCallInfo fcinfo) {
    PG_RETURN_INT32(compare<T>(fcinfo));
}

// Order is one of < <= == != >= >, applied to compare's result.
template <class T, typename Order>
static Datum dense_compare(FunctionCallInfo fcinfo) {
    PG_RETURN_BOOL(Order()(compare<T>(fcinfo), 0));
}

// avg state: a float8[] of {count, sum_1, ..., sum_dim}; initially {0}. Sums are kept in double
// so that averaging many rows does not lose the small ones. vector and halfvec share the state
// and its combine function.
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

// The accumulator runs once per row and adds to every sum anyway: it checks that each is finite
// as it adds to it, rather than in a second pass over the state.
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
template <class T>
static Datum dense_accum(FunctionCallInfo fcinfo) {
    const char *caller = std::is_same_v<T, VectorType> ? "vector_accum" : "halfvec_accum";
    ArrayType *input = PG_GETARG_ARRAYTYPE_P(0);
    int state_dim;
    const double *previous = checked_state(input, caller, &state_dim, SumsChecked::ByCaller);
    DenseView<T> v;
    VS_GETARG_VIEW(1, &v);
    if (state_dim != 0) check_expected_dims(state_dim, v.dim);

    bool in_place = state_dim == v.dim && AggCheckCallContext(fcinfo, nullptr);
    ArrayType *state = in_place ? input : new_state(v.dim);
    double *sums = state_data(state);
    if (!in_place && state_dim == v.dim) memcpy(sums, previous, sizeof(double) * (v.dim + 1));
    sums[0] += 1;
    for (int i = 0; i < v.dim; i++) {
        double before = sums[i + 1];
        sums[i + 1] = before + double(T::widen(v.x[i]));
        if (!std::isfinite(sums[i + 1])) {
            if (!std::isfinite(before)) invalid_sum(caller, i + 1, before);
            float_overflow_error();
        }
    }
    PG_RETURN_ARRAYTYPE_P(state);
}

static Datum dense_combine(FunctionCallInfo fcinfo) {
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
}

template <class T>
static Datum dense_avg(FunctionCallInfo fcinfo) {
    const char *caller = std::is_same_v<T, VectorType> ? "vector_avg" : "halfvec_avg";
    int dim;
    const double *values = checked_state(PG_GETARG_ARRAYTYPE_P(0), caller, &dim, SumsChecked::Here);
    if (values[0] == 0) PG_RETURN_NULL();
    Dense<T> *result = new_dense<T>(dim);
    for (int i = 0; i < dim; i++) {
        result->x[i] = narrow_checked<T>(float(values[i + 1] / values[0]));
        check_element<T>(result->x[i]);
    }
    PG_RETURN_POINTER(result);
}

// Each SQL function of both types, by pgvector's C names.
Datum l2_distance(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_l2_distance<VectorType>(fcinfo); });
}
Datum vector_l2_squared_distance(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_l2_squared_distance<VectorType>(fcinfo); });
}
Datum inner_product(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_inner_product<VectorType>(fcinfo); });
}
Datum vector_negative_inner_product(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_negative_inner_product<VectorType>(fcinfo); });
}
Datum cosine_distance(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_cosine_distance<VectorType>(fcinfo); });
}
Datum vector_spherical_distance(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_spherical_distance<VectorType>(fcinfo); });
}
Datum l1_distance(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_l1_distance<VectorType>(fcinfo); });
}
Datum vector_dims(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_dims<VectorType>(fcinfo); });
}
Datum l2_normalize(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_l2_normalize<VectorType>(fcinfo); });
}
Datum binary_quantize(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_binary_quantize<VectorType>(fcinfo); });
}
Datum subvector(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_subvector<VectorType>(fcinfo); });
}
Datum vector_add(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_add<VectorType>(fcinfo); });
}
Datum vector_sub(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_sub<VectorType>(fcinfo); });
}
Datum vector_mul(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_mul<VectorType>(fcinfo); });
}
Datum vector_concat(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_concat<VectorType>(fcinfo); });
}
Datum vector_cmp(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_cmp<VectorType>(fcinfo); });
}
Datum vector_lt(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_compare<VectorType, std::less<int>>(fcinfo); });
}
Datum vector_le(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_compare<VectorType, std::less_equal<int>>(fcinfo); });
}
Datum vector_eq(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_compare<VectorType, std::equal_to<int>>(fcinfo); });
}
Datum vector_ne(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_compare<VectorType, std::not_equal_to<int>>(fcinfo); });
}
Datum vector_ge(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_compare<VectorType, std::greater_equal<int>>(fcinfo); });
}
Datum vector_gt(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_compare<VectorType, std::greater<int>>(fcinfo); });
}
Datum vector_accum(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_accum<VectorType>(fcinfo); });
}
Datum vector_avg(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_avg<VectorType>(fcinfo); });
}
Datum halfvec_l2_distance(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_l2_distance<HalfvecType>(fcinfo); });
}
Datum halfvec_l2_squared_distance(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_l2_squared_distance<HalfvecType>(fcinfo); });
}
Datum halfvec_inner_product(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_inner_product<HalfvecType>(fcinfo); });
}
Datum halfvec_negative_inner_product(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_negative_inner_product<HalfvecType>(fcinfo); });
}
Datum halfvec_cosine_distance(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_cosine_distance<HalfvecType>(fcinfo); });
}
Datum halfvec_spherical_distance(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_spherical_distance<HalfvecType>(fcinfo); });
}
Datum halfvec_l1_distance(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_l1_distance<HalfvecType>(fcinfo); });
}
Datum halfvec_vector_dims(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_dims<HalfvecType>(fcinfo); });
}
Datum halfvec_l2_normalize(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_l2_normalize<HalfvecType>(fcinfo); });
}
Datum halfvec_binary_quantize(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_binary_quantize<HalfvecType>(fcinfo); });
}
Datum halfvec_subvector(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_subvector<HalfvecType>(fcinfo); });
}
Datum halfvec_add(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_add<HalfvecType>(fcinfo); });
}
Datum halfvec_sub(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_sub<HalfvecType>(fcinfo); });
}
Datum halfvec_mul(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_mul<HalfvecType>(fcinfo); });
}
Datum halfvec_concat(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_concat<HalfvecType>(fcinfo); });
}
Datum halfvec_cmp(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_cmp<HalfvecType>(fcinfo); });
}
Datum halfvec_lt(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_compare<HalfvecType, std::less<int>>(fcinfo); });
}
Datum halfvec_le(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_compare<HalfvecType, std::less_equal<int>>(fcinfo); });
}
Datum halfvec_eq(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_compare<HalfvecType, std::equal_to<int>>(fcinfo); });
}
Datum halfvec_ne(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_compare<HalfvecType, std::not_equal_to<int>>(fcinfo); });
}
Datum halfvec_ge(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_compare<HalfvecType, std::greater_equal<int>>(fcinfo); });
}
Datum halfvec_gt(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_compare<HalfvecType, std::greater<int>>(fcinfo); });
}
Datum halfvec_accum(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_accum<HalfvecType>(fcinfo); });
}
Datum halfvec_avg(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_avg<HalfvecType>(fcinfo); });
}
Datum vector_norm(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_norm<VectorType>(fcinfo); });
}
Datum halfvec_l2_norm(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_norm<HalfvecType>(fcinfo); });
}
Datum vector_combine(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_combine(fcinfo); });
}
