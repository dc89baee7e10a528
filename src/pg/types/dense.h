// The dense vector types, `vector` (float4 elements) and `halfvec` (IEEE half elements): one
// on-disk layout, identical to pgvector's so that dumps, binary COPY and replication between the
// two extensions read the same bytes, and one implementation of their functions, instantiated
// once per type (dense_io.cpp, dense_ops.cpp):
//
//   +-----------+-----------+-----------+---------------------------+
//   | varlena   | int16 dim | int16     | element x[dim]            |
//   | header    |           | unused(0) | float4 or half            |
//   +-----------+-----------+-----------+---------------------------+
//
// A type is a struct with no state naming its SQL name, its element, how an element widens to
// float and narrows back, and its distance kernels. Every check reports with the type's name, as
// pgvector's messages do ("halfvec must have at least 1 dimension").
#pragma once

#include <cmath>
#include <type_traits>

#include "pg/pg.h"
#include "core/kernels/distance.h"
#include "core/kernels/half.h"

#define VECTOR_MAX_DIM 16000

// The distance kernels chosen for this CPU when the library was loaded.
extern vs::Kernels vs_kernels;
extern vs::HalfKernels vs_half_kernels;

struct VectorType {
    using Element = float;
    static constexpr const char *name = "vector";
    static float widen(float x) { return x; }
    static float narrow(float x) { return x; }
    static float read_element(StringInfo buf) { return pq_getmsgfloat4(buf); }
    static void send_element(StringInfo buf, float x) { pq_sendfloat4(buf, x); }

    // Distances as the double a SQL function returns. A float kernel clamps a sum beyond the
    // float range; the double version then gives its value, so no finite input gives infinity.
    static double l2_squared(const float *a, const float *b, int n) {
        return checked(vs_kernels.l2_squared(a, b, n), vs::l2_squared_double, a, b, n);
    }
    static double inner_product(const float *a, const float *b, int n) {
        return checked(vs_kernels.inner_product(a, b, n), vs::inner_product_double, a, b, n);
    }
    static double l1(const float *a, const float *b, int n) {
        return checked(vs_kernels.l1(a, b, n), vs::l1_double, a, b, n);
    }
    static vs::CosineParts cosine_parts(const float *a, const float *b, int n) {
        return vs_kernels.cosine_parts(a, b, n);
    }

  private:
    using InDouble = double (*)(const float *a, const float *b, std::size_t n) noexcept;
    static double checked(float d, InDouble in_double, const float *a, const float *b, int n) {
        return vs::at_float_limit(d) ? in_double(a, b, n) : double(d);
    }
};

// No double fallback: half sums cannot leave the float range (core/kernels/half.h).
struct HalfvecType {
    using Element = vs::Half;
    static constexpr const char *name = "halfvec";
    static float widen(vs::Half x) { return vs::half_to_float(x); }
    static vs::Half narrow(float x) { return vs::float_to_half(x); }
    static void narrow_many(const float *in, vs::Half *out, int n) { vs_half_kernels.narrow(in, out, std::size_t(n)); }
    static bool is_infinite(vs::Half x) { return (x & 0x7fff) == 0x7c00; }
    static vs::Half read_element(StringInfo buf) { return vs::Half(pq_getmsgint(buf, sizeof(vs::Half))); }
    static void send_element(StringInfo buf, vs::Half x) { pq_sendint16(buf, x); }

    static double l2_squared(const vs::Half *a, const vs::Half *b, int n) {
        return vs_half_kernels.l2_squared(a, b, n);
    }
    static double inner_product(const vs::Half *a, const vs::Half *b, int n) {
        return vs_half_kernels.inner_product(a, b, n);
    }
    static double l1(const vs::Half *a, const vs::Half *b, int n) { return vs_half_kernels.l1(a, b, n); }
    static vs::CosineParts cosine_parts(const vs::Half *a, const vs::Half *b, int n) {
        return vs_half_kernels.cosine_parts(a, b, n);
    }
};

template <class T>
struct Dense {
    int32 vl_len_;  // varlena header; never touch directly
    int16 dim;
    int16 unused;
    typename T::Element x[];
};

using Vector = Dense<VectorType>;
using HalfVector = Dense<HalfvecType>;

template <class T>
inline Size dense_size(int dim) {
    return offsetof(Dense<T>, x) + sizeof(typename T::Element) * dim;
}

// A fresh zeroed value of dim elements in CurrentMemoryContext.
template <class T>
Dense<T> *new_dense(int dim) {
    auto *v = static_cast<Dense<T> *>(palloc0(dense_size<T>(dim)));
    SET_VARSIZE(v, dense_size<T>(dim));
    v->dim = dim;
    return v;
}

// The most elements a value whose varlena has a one-byte header (126 data bytes) can hold.
template <class T>
constexpr int short_max_dim = (VARATT_SHORT_MAX - VARHDRSZ_SHORT - 2 * sizeof(int16)) / sizeof(typename T::Element);

// A read-only view of an argument. Values are read in place without a copy; only the rare
// small value stored with a one-byte header, whose elements are unaligned, is copied into the
// view itself, so reading never pallocs unless the value is compressed or out of line.
template <class T>
struct DenseView {
    int dim;
    const typename T::Element *x;
    typename T::Element aligned_copy[short_max_dim<T>];
};

using VectorView = DenseView<VectorType>;

// Views live on the stack of functions that may ereport, so they must need no destructor.
static_assert(std::is_trivially_destructible_v<VectorView>);
static_assert(std::is_trivially_destructible_v<DenseView<HalfvecType>>);

template <class T>
void view_vector(Datum datum, DenseView<T> *view) {
    struct varlena *p = PG_DETOAST_DATUM_PACKED(datum);
    if (VARATT_IS_SHORT(p)) {
        const char *data = VARDATA_SHORT(p);
        int16 dim;
        memcpy(&dim, data, sizeof(dim));
        if (dim < 0 || dim > short_max_dim<T> || dense_size<T>(dim) - VARHDRSZ != VARSIZE_SHORT(p) - VARHDRSZ_SHORT)
            ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
                            errmsg("%s datum of %d dimensions has size %d", T::name, dim, int(VARSIZE_SHORT(p)))));
        memcpy(view->aligned_copy, data + 2 * sizeof(int16), sizeof(typename T::Element) * dim);
        view->dim = dim;
        view->x = view->aligned_copy;
    } else {
        // A value of another type (a superuser's operator class pairing halfvec with float4 keys)
        // must not be read past its end.
        const Dense<T> *v = reinterpret_cast<const Dense<T> *>(p);
        if (v->dim < 0 || VARSIZE(p) != dense_size<T>(v->dim))
            ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
                            errmsg("%s datum of %d dimensions has size %d", T::name, v->dim, int(VARSIZE(p)))));
        view->dim = v->dim;
        view->x = v->x;
    }
}

// PG_GETARG-style: a view of argument n.
#define VS_GETARG_VIEW(n, view) view_vector(PG_GETARG_DATUM(n), (view))

// ERRORs with SQLSTATE 22000 when a and b differ in dimensions, as pgvector does.
template <class T>
void check_same_dims(int a, int b) {
    if (a != b)
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("different %s dimensions %d and %d", T::name, a, b)));
}

// ERRORs on NaN or infinity, which no element may be.
template <class T>
void check_element(typename T::Element x) {
    float value = T::widen(x);
    if (std::isnan(value)) ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("NaN not allowed in %s", T::name)));
    if (std::isinf(value))
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("infinite value not allowed in %s", T::name)));
}

// ERRORs when dim is outside 1..VECTOR_MAX_DIM.
template <class T>
void check_dims(int dim) {
    if (dim < 1)
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("%s must have at least 1 dimension", T::name)));
    if (dim > VECTOR_MAX_DIM)
        ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                        errmsg("%s cannot have more than %d dimensions", T::name, VECTOR_MAX_DIM)));
}

// ERRORs when typmod is set and differs from dim.
void check_expected_dims(int32 typmod, int dim);

// What the text forms of every vector type share: pgvector's whitespace (PostgreSQL 15's
// scanner_isspace), its syntax error, naming the type, and its typmod, one number of dimensions
// from 1 to max_dims.
inline bool is_vector_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}
pg_attribute_noreturn() void invalid_vector_syntax(const char *type, const char *literal, const char *detail);
int32 read_dims_typmod(FunctionCallInfo fcinfo, const char *type, int max_dims);

// The elements of an array cast to a vector type, after refusing a multi-dimensional one or one
// holding NULLs; and one of them (int4, float4, float8 or numeric) as a float.
Datum *array_elements(ArrayType *array, int *n);
float array_element_as_float(Oid element_type, Datum element);

// A float as an element of T: an error where a finite float has no finite element (above 65504
// for halfvec), as pgvector reports it, with the float's shortest text. An infinity or NaN
// passes, for check_element to reject with its own message.
template <class T>
typename T::Element narrow_checked(float value) {
    typename T::Element x = T::narrow(value);
    if (std::isfinite(value) && std::isinf(T::widen(x))) {
        char text[FLOAT_SHORTEST_DECIMAL_LEN];
        float_to_shortest_decimal_buf(value, text);
        ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
                        errmsg("\"%s\" is out of range for type %s", text, T::name)));
    }
    return x;
}
