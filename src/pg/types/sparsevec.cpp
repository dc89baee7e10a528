// The sparsevec type: text and binary I/O, typmod, casts to and from the dense types and arrays,
// distances (the merge kernels of core/kernels/sparse.h), norms and btree order, each with
// pgvector's messages and SQLSTATEs.
#include "pg/types/sparsevec.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdlib>

#include "pg/types/dense.h"

extern "C" {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wregister"
#include "miscadmin.h"
#pragma GCC diagnostic pop
}

extern "C" {
PG_FUNCTION_INFO_V1(sparsevec_in);
PG_FUNCTION_INFO_V1(sparsevec_out);
PG_FUNCTION_INFO_V1(sparsevec_typmod_in);
PG_FUNCTION_INFO_V1(sparsevec_recv);
PG_FUNCTION_INFO_V1(sparsevec_send);
PG_FUNCTION_INFO_V1(sparsevec);
PG_FUNCTION_INFO_V1(vector_to_sparsevec);
PG_FUNCTION_INFO_V1(halfvec_to_sparsevec);
PG_FUNCTION_INFO_V1(array_to_sparsevec);
PG_FUNCTION_INFO_V1(sparsevec_to_vector);
PG_FUNCTION_INFO_V1(sparsevec_to_halfvec);
PG_FUNCTION_INFO_V1(sparsevec_l2_distance);
PG_FUNCTION_INFO_V1(sparsevec_l2_squared_distance);
PG_FUNCTION_INFO_V1(sparsevec_inner_product);
PG_FUNCTION_INFO_V1(sparsevec_negative_inner_product);
PG_FUNCTION_INFO_V1(sparsevec_cosine_distance);
PG_FUNCTION_INFO_V1(sparsevec_l1_distance);
PG_FUNCTION_INFO_V1(sparsevec_l2_norm);
PG_FUNCTION_INFO_V1(sparsevec_l2_normalize);
PG_FUNCTION_INFO_V1(sparsevec_cmp);
PG_FUNCTION_INFO_V1(sparsevec_lt);
PG_FUNCTION_INFO_V1(sparsevec_le);
PG_FUNCTION_INFO_V1(sparsevec_eq);
PG_FUNCTION_INFO_V1(sparsevec_ne);
PG_FUNCTION_INFO_V1(sparsevec_ge);
PG_FUNCTION_INFO_V1(sparsevec_gt);
}

static SparseVec *new_sparsevec(int dim, int nnz) {
    auto *v = static_cast<SparseVec *>(palloc0(sparsevec_size(nnz)));
    SET_VARSIZE(v, sparsevec_size(nnz));
    v->dim = dim;
    v->nnz = nnz;
    return v;
}

SparseVec *sparsevec_arg(Datum datum) {
    auto *v = reinterpret_cast<SparseVec *>(PG_DETOAST_DATUM(datum));
    if (v->nnz < 0 || v->nnz > SPARSEVEC_MAX_NNZ || v->nnz > v->dim || VARSIZE(v) != sparsevec_size(v->nnz))
        ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
                        errmsg("sparsevec datum of %d elements in %d dimensions has size %d", v->nnz, v->dim,
                               int(VARSIZE(v)))));
    return v;
}

static void check_dim(int64 dim) {
    if (dim < 1)
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("sparsevec must have at least 1 dimension")));
    if (dim > SPARSEVEC_MAX_DIM)
        ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                        errmsg("sparsevec cannot have more than %d dimensions", SPARSEVEC_MAX_DIM)));
}

static void check_nnz(int nnz, int dim) {
    if (nnz < 0)
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("sparsevec cannot have negative number of elements")));
    if (nnz > SPARSEVEC_MAX_NNZ)
        ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                        errmsg("sparsevec cannot have more than %d non-zero elements", SPARSEVEC_MAX_NNZ)));
    if (nnz > dim)
        ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                        errmsg("sparsevec cannot have more elements than dimensions")));
}

// Index i (0-based) of a vector of dim dimensions, after index previous (or -1 for the first).
static void check_index(int64 index, int64 previous, int dim) {
    if (index < 0 || index >= dim)
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("sparsevec index out of bounds")));
    if (index < previous)
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("sparsevec indices must be in ascending order")));
    if (index == previous)
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("sparsevec indices must not contain duplicates")));
}

static void check_value(float value) {
    if (std::isnan(value)) ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("NaN not allowed in sparsevec")));
    if (std::isinf(value))
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("infinite value not allowed in sparsevec")));
}

pg_attribute_noreturn() static void invalid_syntax(const char *literal, const char *detail) {
    invalid_vector_syntax("sparsevec", literal, detail);
}

// strtol into the int range, as pgvector clamps, so that the bounds check reports a huge index.
static int64 read_integer(const char *literal, const char **p) {
    char *end;
    errno = 0;
    long value = strtol(*p, &end, 10);
    if (end == *p) invalid_syntax(literal, nullptr);
    *p = end;
    return std::clamp<long>(value, long(INT_MIN) + 1, INT_MAX);
}

struct Element {
    int64 index;  // 0-based
    float value;
};

// Text form: '{' [index ':' value {',' index ':' value}] '}' '/' dims, indices 1-based and in any
// order, whitespace around every token. Zero values are dropped; the rest are sorted by index.
static Datum read_text(FunctionCallInfo fcinfo) {
    const char *literal = PG_GETARG_CSTRING(0);
    int32 typmod = PG_GETARG_INT32(2);
    // pgvector counts the pairs before reading any, zero values among them.
    int pairs = 1;
    for (const char *c = literal; *c; c++) pairs += *c == ',';
    if (pairs > SPARSEVEC_MAX_NNZ) check_nnz(pairs, INT_MAX);
    Element *elements = static_cast<Element *>(palloc(sizeof(Element) * pairs));
    int nnz = 0;

    const char *p = literal;
    while (is_vector_space(*p)) p++;
    if (*p != '{') invalid_syntax(literal, "Vector contents must start with \"{\".");
    p++;
    while (is_vector_space(*p)) p++;
    if (*p == '}') {
        p++;
    } else {
        for (;;) {
            while (is_vector_space(*p)) p++;
            int64 index = read_integer(literal, &p);
            while (is_vector_space(*p)) p++;
            if (*p != ':') invalid_syntax(literal, nullptr);
            p++;
            while (is_vector_space(*p)) p++;
            char *end;
            errno = 0;
            float value = strtof(p, &end);
            if (end == p) invalid_syntax(literal, nullptr);
            // Unlike vector, an underflow is refused too: it would silently drop the element.
            if (errno == ERANGE && (value == 0 || std::isinf(value)))
                ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
                                errmsg("\"%s\" is out of range for type sparsevec", pnstrdup(p, end - p))));
            check_value(value);
            if (value != 0) elements[nnz++] = {index - 1, value};
            p = end;
            while (is_vector_space(*p)) p++;
            if (*p == ',') {
                p++;
            } else if (*p == '}') {
                p++;
                break;
            } else {
                invalid_syntax(literal, nullptr);
            }
        }
    }
    while (is_vector_space(*p)) p++;
    if (*p != '/') invalid_syntax(literal, "Unexpected end of input.");
    p++;
    while (is_vector_space(*p)) p++;
    int64 dim = read_integer(literal, &p);
    while (is_vector_space(*p)) p++;
    if (*p != '\0') invalid_syntax(literal, "Junk after closing.");

    check_dim(dim);
    check_expected_dims(typmod, int(dim));
    std::sort(elements, elements + nnz, [](const Element &a, const Element &b) { return a.index < b.index; });
    SparseVec *v = new_sparsevec(int(dim), nnz);
    float *values = sparsevec_values(v);
    for (int i = 0; i < nnz; i++) {
        check_index(elements[i].index, i > 0 ? elements[i - 1].index : -1, v->dim);
        v->indices[i] = int32(elements[i].index);
        values[i] = elements[i].value;
    }
    PG_RETURN_POINTER(v);
}

static Datum write_text(FunctionCallInfo fcinfo) {
    const SparseVec *v = sparsevec_arg(PG_GETARG_DATUM(0));
    const float *values = sparsevec_values(v);
    // "{" + per element up to 10 digits, ':', a float and ',' + "}/" + 10 digits
    char *out = static_cast<char *>(palloc(2 + Size(v->nnz) * (12 + FLOAT_SHORTEST_DECIMAL_LEN) + 12 + 1));
    char *p = out;
    *p++ = '{';
    for (int i = 0; i < v->nnz; i++) {
        if (i > 0) *p++ = ',';
        p += pg_ltoa(v->indices[i] + 1, p);
        *p++ = ':';
        p += float_to_shortest_decimal_bufn(values[i], p);
    }
    *p++ = '}';
    *p++ = '/';
    p += pg_ltoa(v->dim, p);
    *p = '\0';
    PG_RETURN_CSTRING(out);
}

static Datum read_typmod(FunctionCallInfo fcinfo) {
    PG_RETURN_INT32(read_dims_typmod(fcinfo, "sparsevec", SPARSEVEC_MAX_DIM));
}

// Binary form, pgvector's: int32 dim, int32 nnz, int32 unused (0), nnz 0-based int32 indices,
// nnz float4 values, all big-endian. Every field is checked, since a client can send any bytes.
static Datum read_binary(FunctionCallInfo fcinfo) {
    StringInfo buf = reinterpret_cast<StringInfo>(PG_GETARG_POINTER(0));
    int32 typmod = PG_GETARG_INT32(2);
    int32 dim = int32(pq_getmsgint(buf, sizeof(int32)));
    int32 nnz = int32(pq_getmsgint(buf, sizeof(int32)));
    int32 unused = int32(pq_getmsgint(buf, sizeof(int32)));
    check_dim(dim);
    check_nnz(nnz, dim);
    check_expected_dims(typmod, dim);
    if (unused != 0)
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("expected unused to be 0, not %d", unused)));
    if (buf->len - buf->cursor < int(sizeof(int32) + sizeof(float)) * nnz)
        ereport(ERROR, (errcode(ERRCODE_INVALID_BINARY_REPRESENTATION), errmsg("insufficient data left in message")));
    SparseVec *v = new_sparsevec(dim, nnz);
    for (int i = 0; i < nnz; i++) {
        v->indices[i] = int32(pq_getmsgint(buf, sizeof(int32)));
        check_index(v->indices[i], i > 0 ? v->indices[i - 1] : -1, dim);
    }
    float *values = sparsevec_values(v);
    for (int i = 0; i < nnz; i++) {
        values[i] = pq_getmsgfloat4(buf);
        check_value(values[i]);
        if (values[i] == 0)
            ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                            errmsg("binary representation of sparsevec cannot contain zero values")));
    }
    PG_RETURN_POINTER(v);
}

static Datum write_binary(FunctionCallInfo fcinfo) {
    const SparseVec *v = sparsevec_arg(PG_GETARG_DATUM(0));
    const float *values = sparsevec_values(v);
    StringInfoData buf;
    pq_begintypsend(&buf);
    pq_sendint32(&buf, v->dim);
    pq_sendint32(&buf, v->nnz);
    pq_sendint32(&buf, 0);
    for (int i = 0; i < v->nnz; i++) pq_sendint32(&buf, v->indices[i]);
    for (int i = 0; i < v->nnz; i++) pq_sendfloat4(&buf, values[i]);
    PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

static Datum coerce_typmod(FunctionCallInfo fcinfo) {
    Datum datum = PG_GETARG_DATUM(0);
    check_expected_dims(PG_GETARG_INT32(1), sparsevec_arg(datum)->dim);
    PG_RETURN_DATUM(datum);
}

// The non-zero elements of n dense values (widened to float by to_float), as a sparsevec.
template <class ToFloat>
static SparseVec *from_dense(int n, int32 typmod, ToFloat to_float) {
    check_dim(n);
    check_expected_dims(typmod, n);
    int nnz = 0;
    for (int i = 0; i < n; i++) nnz += to_float(i) != 0;
    check_nnz(nnz, n);
    SparseVec *v = new_sparsevec(n, nnz);
    float *values = sparsevec_values(v);
    for (int i = 0, j = 0; i < n; i++) {
        float x = to_float(i);
        if (x == 0) continue;
        check_value(x);
        v->indices[j] = i;
        values[j++] = x;
    }
    return v;
}

template <class T>
static Datum dense_to_sparsevec(FunctionCallInfo fcinfo) {
    DenseView<T> d;
    VS_GETARG_VIEW(0, &d);
    PG_RETURN_POINTER(from_dense(d.dim, PG_GETARG_INT32(1), [&](int i) { return T::widen(d.x[i]); }));
}

// pgvector's order: the dimensions are checked before any element is converted.
static Datum from_array(FunctionCallInfo fcinfo) {
    ArrayType *array = PG_GETARG_ARRAYTYPE_P(0);
    int n;
    Datum *elements = array_elements(array, &n);
    check_dim(n);
    check_expected_dims(PG_GETARG_INT32(1), n);
    // Each element is converted once: numeric's conversion is not cheap.
    float *x = static_cast<float *>(palloc(sizeof(float) * Max(n, 1)));
    // (an array of up to 10^9 elements: a cancel is honoured while they are converted)
    for (int i = 0; i < n; i++) {
        if ((i & 0xffff) == 0) CHECK_FOR_INTERRUPTS();
        x[i] = array_element_as_float(ARR_ELEMTYPE(array), elements[i]);
    }
    PG_RETURN_POINTER(from_dense(n, PG_GETARG_INT32(1), [&](int i) { return x[i]; }));
}

// Each dense type checks the dimensions it can hold, as pgvector does.
template <class T>
static Datum sparsevec_to_dense(FunctionCallInfo fcinfo) {
    const SparseVec *v = sparsevec_arg(PG_GETARG_DATUM(0));
    check_dims<T>(v->dim);
    check_expected_dims(PG_GETARG_INT32(1), v->dim);
    Dense<T> *result = new_dense<T>(v->dim);
    const float *values = sparsevec_values(v);
    for (int i = 0; i < v->nnz; i++) {
        // A stored value's indices were checked when it was made; a damaged one must not write
        // past the result.
        if (v->indices[i] < 0 || v->indices[i] >= v->dim)
            ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED), errmsg("sparsevec datum has index %d of %d dimensions",
                                                                    v->indices[i], v->dim)));
        result->x[v->indices[i]] = narrow_checked<T>(values[i]);
    }
    PG_RETURN_POINTER(result);
}

static void view_pair(FunctionCallInfo fcinfo, vs::SparseVector *a, vs::SparseVector *b) {
    const SparseVec *x = sparsevec_arg(PG_GETARG_DATUM(0)), *y = sparsevec_arg(PG_GETARG_DATUM(1));
    if (x->dim != y->dim)
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                        errmsg("different sparsevec dimensions %d and %d", x->dim, y->dim)));
    *a = sparsevec_view(x);
    *b = sparsevec_view(y);
}

using SparseKernel = float (*)(const vs::SparseVector &, const vs::SparseVector &) noexcept;
using SparseInDouble = double (*)(const vs::SparseVector &, const vs::SparseVector &) noexcept;

// As for vector: a sum the float kernel clamped is given its double value.
template <SparseKernel kernel, SparseInDouble in_double>
static double pair_distance(FunctionCallInfo fcinfo) {
    vs::SparseVector a, b;
    view_pair(fcinfo, &a, &b);
    float d = kernel(a, b);
    return vs::at_float_limit(d) ? in_double(a, b) : double(d);
}

static Datum l2(FunctionCallInfo fcinfo) {
    PG_RETURN_FLOAT8(std::sqrt((pair_distance<vs::sparse_l2_squared, vs::sparse_l2_squared_double>(fcinfo))));
}
static Datum l2_squared(FunctionCallInfo fcinfo) {
    PG_RETURN_FLOAT8((pair_distance<vs::sparse_l2_squared, vs::sparse_l2_squared_double>(fcinfo)));
}
static Datum dot(FunctionCallInfo fcinfo) {
    PG_RETURN_FLOAT8((pair_distance<vs::sparse_inner_product, vs::sparse_inner_product_double>(fcinfo)));
}
static Datum negative_dot(FunctionCallInfo fcinfo) {
    PG_RETURN_FLOAT8(-(pair_distance<vs::sparse_inner_product, vs::sparse_inner_product_double>(fcinfo)));
}
static Datum l1(FunctionCallInfo fcinfo) {
    PG_RETURN_FLOAT8((pair_distance<vs::sparse_l1, vs::sparse_l1_double>(fcinfo)));
}
static Datum cosine(FunctionCallInfo fcinfo) {
    vs::SparseVector a, b;
    view_pair(fcinfo, &a, &b);
    PG_RETURN_FLOAT8(vs::cosine_distance(vs::sparse_cosine_parts(a, b)));
}

static double norm(const SparseVec *v) {
    const float *values = sparsevec_values(v);
    double sum = 0;
    for (int i = 0; i < v->nnz; i++) sum += double(values[i]) * values[i];
    return std::sqrt(sum);
}

static Datum norm_of(FunctionCallInfo fcinfo) { PG_RETURN_FLOAT8(norm(sparsevec_arg(PG_GETARG_DATUM(0)))); }

// Elements that become zero in float (far below the largest) are dropped, as zeros are never
// stored; a vector with no elements is returned as it is.
static Datum normalized(FunctionCallInfo fcinfo) {
    const SparseVec *v = sparsevec_arg(PG_GETARG_DATUM(0));
    double n = norm(v);
    const float *values = sparsevec_values(v);
    float *scaled = static_cast<float *>(palloc(sizeof(float) * Max(v->nnz, 1)));
    int nnz = 0;
    for (int i = 0; i < v->nnz; i++) {
        scaled[i] = float(values[i] / n);
        if (std::isinf(scaled[i])) float_overflow_error();
        nnz += scaled[i] != 0;
    }
    SparseVec *result = new_sparsevec(v->dim, nnz);
    float *out = sparsevec_values(result);
    for (int i = 0, j = 0; i < v->nnz; i++) {
        if (scaled[i] == 0) continue;
        result->indices[j] = v->indices[i];
        out[j++] = scaled[i];
    }
    PG_RETURN_POINTER(result);
}

// The order of the dense vectors they stand for, element by element, then shorter first,
// without making them dense: where one has an element the other lacks, the other's is 0 there.
static int compare(FunctionCallInfo fcinfo) {
    const SparseVec *a = sparsevec_arg(PG_GETARG_DATUM(0)), *b = sparsevec_arg(PG_GETARG_DATUM(1));
    const float *ax = sparsevec_values(a), *bx = sparsevec_values(b);
    int n = std::min(a->nnz, b->nnz);
    for (int i = 0; i < n; i++) {
        if (a->indices[i] < b->indices[i]) return ax[i] < 0 ? -1 : 1;
        if (a->indices[i] > b->indices[i]) return bx[i] < 0 ? 1 : -1;
        if (ax[i] < bx[i]) return -1;
        if (ax[i] > bx[i]) return 1;
    }
    if (a->nnz < b->nnz && b->indices[n] < a->dim) return bx[n] < 0 ? 1 : -1;
    if (a->nnz > b->nnz && a->indices[n] < b->dim) return ax[n] < 0 ? -1 : 1;
    return (a->dim > b->dim) - (a->dim < b->dim);
}

Datum sparsevec_in(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return read_text(fcinfo); });
}
Datum sparsevec_out(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return write_text(fcinfo); });
}
Datum sparsevec_typmod_in(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return read_typmod(fcinfo); });
}
Datum sparsevec_recv(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return read_binary(fcinfo); });
}
Datum sparsevec_send(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return write_binary(fcinfo); });
}
Datum sparsevec(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return coerce_typmod(fcinfo); });
}
Datum vector_to_sparsevec(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_to_sparsevec<VectorType>(fcinfo); });
}
Datum halfvec_to_sparsevec(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_to_sparsevec<HalfvecType>(fcinfo); });
}
Datum array_to_sparsevec(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return from_array(fcinfo); });
}
Datum sparsevec_to_vector(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return sparsevec_to_dense<VectorType>(fcinfo); });
}
Datum sparsevec_to_halfvec(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return sparsevec_to_dense<HalfvecType>(fcinfo); });
}
Datum sparsevec_l2_distance(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return l2(fcinfo); });
}
Datum sparsevec_l2_squared_distance(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return l2_squared(fcinfo); });
}
Datum sparsevec_inner_product(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dot(fcinfo); });
}
Datum sparsevec_negative_inner_product(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return negative_dot(fcinfo); });
}
Datum sparsevec_cosine_distance(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return cosine(fcinfo); });
}
Datum sparsevec_l1_distance(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return l1(fcinfo); });
}
Datum sparsevec_l2_norm(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return norm_of(fcinfo); });
}
Datum sparsevec_l2_normalize(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return normalized(fcinfo); });
}
Datum sparsevec_cmp(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { PG_RETURN_INT32(compare(fcinfo)); });
}
Datum sparsevec_lt(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { PG_RETURN_BOOL(compare(fcinfo) < 0); });
}
Datum sparsevec_le(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { PG_RETURN_BOOL(compare(fcinfo) <= 0); });
}
Datum sparsevec_eq(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { PG_RETURN_BOOL(compare(fcinfo) == 0); });
}
Datum sparsevec_ne(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { PG_RETURN_BOOL(compare(fcinfo) != 0); });
}
Datum sparsevec_ge(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { PG_RETURN_BOOL(compare(fcinfo) >= 0); });
}
Datum sparsevec_gt(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { PG_RETURN_BOOL(compare(fcinfo) > 0); });
}
