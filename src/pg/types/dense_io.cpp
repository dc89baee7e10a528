// The dense types' text and binary I/O, typmods and casts, written once over the type (dense.h)
// and instantiated for vector and halfvec; pgvector's messages and SQLSTATEs for every bad value.
#include "pg/types/dense.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

// The SQL-callable functions of this file (C linkage, fmgr version 1).
extern "C" {
PG_FUNCTION_INFO_V1(vector_in);
PG_FUNCTION_INFO_V1(vector_out);
PG_FUNCTION_INFO_V1(vector_typmod_in);
PG_FUNCTION_INFO_V1(vector_recv);
PG_FUNCTION_INFO_V1(vector_send);
PG_FUNCTION_INFO_V1(vector);
PG_FUNCTION_INFO_V1(array_to_vector);
PG_FUNCTION_INFO_V1(vector_to_float4);
PG_FUNCTION_INFO_V1(halfvec_in);
PG_FUNCTION_INFO_V1(halfvec_out);
PG_FUNCTION_INFO_V1(halfvec_typmod_in);
PG_FUNCTION_INFO_V1(halfvec_recv);
PG_FUNCTION_INFO_V1(halfvec_send);
PG_FUNCTION_INFO_V1(halfvec);
PG_FUNCTION_INFO_V1(array_to_halfvec);
PG_FUNCTION_INFO_V1(halfvec_to_float4);
PG_FUNCTION_INFO_V1(vector_to_halfvec);
PG_FUNCTION_INFO_V1(halfvec_to_vector);
}

vs::Kernels vs_kernels = vs::select_kernels(vs::Isa::Scalar);
vs::HalfKernels vs_half_kernels = vs::select_half_kernels(vs::Isa::Scalar);

void check_expected_dims(int32 typmod, int dim) {
    if (typmod != -1 && typmod != dim)
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("expected %d dimensions, not %d", typmod, dim)));
}

void invalid_vector_syntax(const char *type, const char *literal, const char *detail) {
    ereport(ERROR, (errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
                    errmsg("invalid input syntax for type %s: \"%s\"", type, literal),
                    detail ? errdetail("%s", detail) : 0));
}

int32 read_dims_typmod(FunctionCallInfo fcinfo, const char *type, int max_dims) {
    int n;
    int32 *mods = ArrayGetIntegerTypmods(PG_GETARG_ARRAYTYPE_P(0), &n);
    if (n != 1) ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid type modifier")));
    if (mods[0] < 1)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("dimensions for type %s must be at least 1", type)));
    if (mods[0] > max_dims)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("dimensions for type %s cannot exceed %d", type, max_dims)));
    return mods[0];
}

// Text form: '[' number {',' number} ']', whitespace allowed around every token. Each number is
// read as a float first, as pgvector reads it, so a halfvec element is rounded twice (text to
// float, float to half) exactly as there.
template <class T>
Datum dense_in(FunctionCallInfo fcinfo) {
    const char *literal = PG_GETARG_CSTRING(0);
    int32 typmod = PG_GETARG_INT32(2);
    typename T::Element x[VECTOR_MAX_DIM];
    int dim = 0;

    const char *p = literal;
    while (is_vector_space(*p)) p++;
    if (*p != '[') invalid_vector_syntax(T::name, literal, "Vector contents must start with \"[\".");
    p++;
    while (is_vector_space(*p)) p++;
    if (*p == ']') {
        p++;
    } else {
        for (;;) {
            if (dim == VECTOR_MAX_DIM) check_dims<T>(dim + 1);
            while (is_vector_space(*p)) p++;
            if (*p == '\0') invalid_vector_syntax(T::name, literal, nullptr);
            char *end;
            errno = 0;
            float value = strtof(p, &end);
            if (end == p) invalid_vector_syntax(T::name, literal, nullptr);
            typename T::Element element = T::narrow(value);
            if ((errno == ERANGE && std::isinf(value)) || (std::isfinite(value) && std::isinf(T::widen(element))))
                ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
                                errmsg("\"%s\" is out of range for type %s", pnstrdup(p, end - p), T::name)));
            check_element<T>(element);
            x[dim++] = element;
            p = end;
            while (is_vector_space(*p)) p++;
            if (*p == ',') {
                p++;
            } else if (*p == ']') {
                p++;
                break;
            } else {
                invalid_vector_syntax(T::name, literal, nullptr);
            }
        }
    }
    while (is_vector_space(*p)) p++;
    if (*p != '\0') invalid_vector_syntax(T::name, literal, "Junk after closing right brace.");

    check_dims<T>(dim);
    check_expected_dims(typmod, dim);
    Dense<T> *v = new_dense<T>(dim);
    memcpy(v->x, x, sizeof(x[0]) * dim);
    PG_RETURN_POINTER(v);
}

// Shortest text that reads back as the same float, as float4out and pgvector print it (for a
// half, the shortest text of the float it widens to).
template <class T>
Datum dense_out(FunctionCallInfo fcinfo) {
    DenseView<T> v;
    VS_GETARG_VIEW(0, &v);
    char *out = static_cast<char *>(palloc(2 + Size(v.dim) * FLOAT_SHORTEST_DECIMAL_LEN + 1));
    char *p = out;
    *p++ = '[';
    for (int i = 0; i < v.dim; i++) {
        if (i > 0) *p++ = ',';
        p += float_to_shortest_decimal_bufn(T::widen(v.x[i]), p);
    }
    *p++ = ']';
    *p = '\0';
    PG_RETURN_CSTRING(out);
}

template <class T>
Datum dense_typmod_in(FunctionCallInfo fcinfo) {
    PG_RETURN_INT32(read_dims_typmod(fcinfo, T::name, VECTOR_MAX_DIM));
}

// Binary form, pgvector's: int16 dim, int16 unused (0), dim big-endian elements (float4, or the
// 16 bits of a half). Every field is checked, since a client can send any bytes.
template <class T>
Datum dense_recv(FunctionCallInfo fcinfo) {
    StringInfo buf = reinterpret_cast<StringInfo>(PG_GETARG_POINTER(0));
    int32 typmod = PG_GETARG_INT32(2);
    int dim = int16(pq_getmsgint(buf, sizeof(int16)));
    int unused = int16(pq_getmsgint(buf, sizeof(int16)));
    check_dims<T>(dim);
    check_expected_dims(typmod, dim);
    if (unused != 0)
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("expected unused to be 0, not %d", unused)));
    if (buf->len - buf->cursor < int(sizeof(typename T::Element)) * dim)
        ereport(ERROR, (errcode(ERRCODE_INVALID_BINARY_REPRESENTATION), errmsg("insufficient data left in message")));
    Dense<T> *v = new_dense<T>(dim);
    for (int i = 0; i < dim; i++) {
        v->x[i] = T::read_element(buf);
        check_element<T>(v->x[i]);
    }
    PG_RETURN_POINTER(v);
}

template <class T>
Datum dense_send(FunctionCallInfo fcinfo) {
    DenseView<T> v;
    VS_GETARG_VIEW(0, &v);
    StringInfoData buf;
    pq_begintypsend(&buf);
    pq_sendint16(&buf, v.dim);
    pq_sendint16(&buf, 0);
    for (int i = 0; i < v.dim; i++) T::send_element(&buf, v.x[i]);
    PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

// Length coercion for vector(n) and halfvec(n): the value is returned unchanged when its dims
// match.
template <class T>
Datum dense_coerce(FunctionCallInfo fcinfo) {
    Datum datum = PG_GETARG_DATUM(0);
    DenseView<T> v;
    view_vector(datum, &v);
    check_expected_dims(PG_GETARG_INT32(1), v.dim);
    PG_RETURN_DATUM(datum);
}

// A float8 beyond float4's range would become infinity: report it as the overflow it is.
static float narrow_to_float(double value) {
    float narrowed = float(value);
    if (std::isinf(narrowed) && !std::isinf(value)) float_overflow_error();
    return narrowed;
}

float array_element_as_float(Oid element_type, Datum element) {
    switch (element_type) {
        case INT4OID: return float(DatumGetInt32(element));
        case FLOAT4OID: return DatumGetFloat4(element);
        case FLOAT8OID: return narrow_to_float(DatumGetFloat8(element));
        case NUMERICOID: return DatumGetFloat4(DirectFunctionCall1(numeric_float4, element));
    }
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("unsupported array type")));
}

Datum *array_elements(ArrayType *array, int *n) {
    if (ARR_NDIM(array) > 1) ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("array must be 1-D")));
    if (ARR_HASNULL(array) && array_contains_nulls(array))
        ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("array must not contain nulls")));
    int16 typlen;
    bool typbyval;
    char typalign;
    get_typlenbyvalalign(ARR_ELEMTYPE(array), &typlen, &typbyval, &typalign);
    Datum *elements;
    deconstruct_array(array, ARR_ELEMTYPE(array), typlen, typbyval, typalign, &elements, nullptr, n);
    return elements;
}

template <class T>
Datum array_to_dense(FunctionCallInfo fcinfo) {
    ArrayType *array = PG_GETARG_ARRAYTYPE_P(0);
    int32 typmod = PG_GETARG_INT32(1);
    int n;
    Datum *elements = array_elements(array, &n);
    check_dims<T>(n);
    check_expected_dims(typmod, n);

    // Every element converted, then every one checked, as pgvector reports the first problem.
    Dense<T> *v = new_dense<T>(n);
    for (int i = 0; i < n; i++) v->x[i] = narrow_checked<T>(array_element_as_float(ARR_ELEMTYPE(array), elements[i]));
    for (int i = 0; i < n; i++) check_element<T>(v->x[i]);
    PG_RETURN_POINTER(v);
}

template <class T>
Datum dense_to_float4(FunctionCallInfo fcinfo) {
    DenseView<T> v;
    VS_GETARG_VIEW(0, &v);
    Datum *elements = static_cast<Datum *>(palloc(sizeof(Datum) * v.dim));
    for (int i = 0; i < v.dim; i++) elements[i] = Float4GetDatum(T::widen(v.x[i]));
    PG_RETURN_POINTER(construct_array(elements, v.dim, FLOAT4OID, sizeof(float4), true, TYPALIGN_INT));
}

// vector -> halfvec rounds each element, an error where one is beyond the half range; halfvec ->
// vector is exact. Each checks the dimensions of the type it makes, as pgvector does.
template <class From, class To>
Datum convert_dense(FunctionCallInfo fcinfo) {
    DenseView<From> v;
    VS_GETARG_VIEW(0, &v);
    check_dims<To>(v.dim);
    check_expected_dims(PG_GETARG_INT32(1), v.dim);
    Dense<To> *result = new_dense<To>(v.dim);
    if constexpr (std::is_same_v<From, VectorType>) {
        // All at once, then checked: a vector's elements are finite, so an infinity is an
        // overflow, which narrow_checked reports.
        To::narrow_many(v.x, result->x, v.dim);
        for (int i = 0; i < v.dim; i++)
            if (To::is_infinite(result->x[i])) narrow_checked<To>(v.x[i]);
    } else {
        for (int i = 0; i < v.dim; i++) result->x[i] = narrow_checked<To>(From::widen(v.x[i]));
    }
    PG_RETURN_POINTER(result);
}

Datum vector_in(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_in<VectorType>(fcinfo); });
}
Datum vector_out(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_out<VectorType>(fcinfo); });
}
Datum vector_typmod_in(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_typmod_in<VectorType>(fcinfo); });
}
Datum vector_recv(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_recv<VectorType>(fcinfo); });
}
Datum vector_send(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_send<VectorType>(fcinfo); });
}
Datum vector(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_coerce<VectorType>(fcinfo); });
}
Datum array_to_vector(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return array_to_dense<VectorType>(fcinfo); });
}
Datum vector_to_float4(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_to_float4<VectorType>(fcinfo); });
}
Datum halfvec_in(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_in<HalfvecType>(fcinfo); });
}
Datum halfvec_out(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_out<HalfvecType>(fcinfo); });
}
Datum halfvec_typmod_in(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_typmod_in<HalfvecType>(fcinfo); });
}
Datum halfvec_recv(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_recv<HalfvecType>(fcinfo); });
}
Datum halfvec_send(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_send<HalfvecType>(fcinfo); });
}
Datum halfvec(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_coerce<HalfvecType>(fcinfo); });
}
Datum array_to_halfvec(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return array_to_dense<HalfvecType>(fcinfo); });
}
Datum halfvec_to_float4(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return dense_to_float4<HalfvecType>(fcinfo); });
}
Datum vector_to_halfvec(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return convert_dense<VectorType, HalfvecType>(fcinfo); });
}
Datum halfvec_to_vector(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { return convert_dense<HalfvecType, VectorType>(fcinfo); });
}
