// The vector type: text and binary I/O, typmod, casts, and the shared checks that give every
// bad value the same ERROR and SQLSTATE as pgvector.
#include "pg/types/vector.h"

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
}

vs::Kernels vs_kernels = vs::select_kernels(vs::Isa::Scalar);

Vector *new_vector(int dim) {
    Vector *v = static_cast<Vector *>(palloc0(vector_size(dim)));
    SET_VARSIZE(v, vector_size(dim));
    v->dim = dim;
    return v;
}

void view_vector(Datum datum, VectorView *view) {
    struct varlena *p = PG_DETOAST_DATUM_PACKED(datum);
    if (VARATT_IS_SHORT(p)) {
        const char *data = VARDATA_SHORT(p);
        int16 dim;
        memcpy(&dim, data, sizeof(dim));
        if (vector_size(dim) - VARHDRSZ != VARSIZE_SHORT(p) - VARHDRSZ_SHORT)
            ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED), errmsg("vector datum of %d dimensions has size %d", dim,
                                                                    int(VARSIZE_SHORT(p)))));
        memcpy(view->aligned_copy, data + 2 * sizeof(int16), sizeof(float) * dim);
        view->dim = dim;
        view->x = view->aligned_copy;
    } else {
        const Vector *v = reinterpret_cast<const Vector *>(p);
        view->dim = v->dim;
        view->x = v->x;
    }
}

void check_same_dims(int a, int b) {
    if (a != b)
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                        errmsg("different vector dimensions %d and %d", a, b)));
}

void check_element(float value) {
    if (std::isnan(value))
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("NaN not allowed in vector")));
    if (std::isinf(value))
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("infinite value not allowed in vector")));
}

void check_dims(int dim) {
    if (dim < 1)
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("vector must have at least 1 dimension")));
    if (dim > VECTOR_MAX_DIM)
        ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                        errmsg("vector cannot have more than %d dimensions", VECTOR_MAX_DIM)));
}

void check_expected_dims(int32 typmod, int dim) {
    if (typmod != -1 && typmod != dim)
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("expected %d dimensions, not %d", typmod, dim)));
}

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

pg_attribute_noreturn() static void invalid_syntax(const char *literal, const char *detail);
static void invalid_syntax(const char *literal, const char *detail) {
    ereport(ERROR, (errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
                    errmsg("invalid input syntax for type vector: \"%s\"", literal),
                    detail ? errdetail("%s", detail) : 0));
}

// Text form: '[' float {',' float} ']', whitespace allowed around every token.
Datum vector_in(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum {
        const char *literal = PG_GETARG_CSTRING(0);
        int32 typmod = PG_GETARG_INT32(2);
        float x[VECTOR_MAX_DIM];
        int dim = 0;

        const char *p = literal;
        while (is_space(*p)) p++;
        if (*p != '[') invalid_syntax(literal, "Vector contents must start with \"[\".");
        p++;
        while (is_space(*p)) p++;
        if (*p == ']') {
            p++;
        } else {
            for (;;) {
                if (dim == VECTOR_MAX_DIM) check_dims(dim + 1);
                while (is_space(*p)) p++;
                if (*p == '\0') invalid_syntax(literal, nullptr);
                char *end;
                errno = 0;
                float value = strtof(p, &end);
                if (end == p) invalid_syntax(literal, nullptr);
                if (errno == ERANGE && std::isinf(value))
                    ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
                                    errmsg("\"%s\" is out of range for type vector", pnstrdup(p, end - p))));
                check_element(value);
                x[dim++] = value;
                p = end;
                while (is_space(*p)) p++;
                if (*p == ',') {
                    p++;
                } else if (*p == ']') {
                    p++;
                    break;
                } else {
                    invalid_syntax(literal, nullptr);
                }
            }
        }
        while (is_space(*p)) p++;
        if (*p != '\0') invalid_syntax(literal, "Junk after closing right brace.");

        check_dims(dim);
        check_expected_dims(typmod, dim);
        Vector *v = new_vector(dim);
        memcpy(v->x, x, sizeof(float) * dim);
        PG_RETURN_POINTER(v);
    });
}

// Shortest text that reads back as the same float, as float4out and pgvector print it.
Datum vector_out(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum {
        VectorView v;
        VS_GETARG_VIEW(0, &v);
        char *out = static_cast<char *>(palloc(2 + Size(v.dim) * FLOAT_SHORTEST_DECIMAL_LEN + 1));
        char *p = out;
        *p++ = '[';
        for (int i = 0; i < v.dim; i++) {
            if (i > 0) *p++ = ',';
            p += float_to_shortest_decimal_bufn(v.x[i], p);
        }
        *p++ = ']';
        *p = '\0';
        PG_RETURN_CSTRING(out);
    });
}

Datum vector_typmod_in(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum {
        ArrayType *array = PG_GETARG_ARRAYTYPE_P(0);
        int n;
        int32 *mods = ArrayGetIntegerTypmods(array, &n);
        if (n != 1) ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid type modifier")));
        if (mods[0] < 1)
            ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                            errmsg("dimensions for type vector must be at least 1")));
        if (mods[0] > VECTOR_MAX_DIM)
            ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                            errmsg("dimensions for type vector cannot exceed %d", VECTOR_MAX_DIM)));
        PG_RETURN_INT32(mods[0]);
    });
}

// Binary form, pgvector's: int16 dim, int16 unused (0), dim big-endian float4s. Every field is
// checked, since a client can send any bytes.
Datum vector_recv(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum {
        StringInfo buf = reinterpret_cast<StringInfo>(PG_GETARG_POINTER(0));
        int32 typmod = PG_GETARG_INT32(2);
        int dim = int16(pq_getmsgint(buf, sizeof(int16)));
        int unused = int16(pq_getmsgint(buf, sizeof(int16)));
        check_dims(dim);
        check_expected_dims(typmod, dim);
        if (unused != 0)
            ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("expected unused to be 0, not %d", unused)));
        if (buf->len - buf->cursor < int(sizeof(float)) * dim)
            ereport(ERROR, (errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
                            errmsg("insufficient data left in message")));
        Vector *v = new_vector(dim);
        for (int i = 0; i < dim; i++) {
            v->x[i] = pq_getmsgfloat4(buf);
            check_element(v->x[i]);
        }
        PG_RETURN_POINTER(v);
    });
}

Datum vector_send(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum {
        VectorView v;
        VS_GETARG_VIEW(0, &v);
        StringInfoData buf;
        pq_begintypsend(&buf);
        pq_sendint16(&buf, v.dim);
        pq_sendint16(&buf, 0);
        for (int i = 0; i < v.dim; i++) pq_sendfloat4(&buf, v.x[i]);
        PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
    });
}

// Length coercion for vector(n): the value is returned unchanged when its dims match.
Datum vector(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum {
        Datum datum = PG_GETARG_DATUM(0);
        VectorView v;
        view_vector(datum, &v);
        check_expected_dims(PG_GETARG_INT32(1), v.dim);
        PG_RETURN_DATUM(datum);
    });
}

// A float8 beyond float4's range would become infinity: report it as the overflow it is.
static float narrow_to_float(double value) {
    float narrowed = float(value);
    if (std::isinf(narrowed) && !std::isinf(value)) float_overflow_error();
    return narrowed;
}

Datum array_to_vector(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum {
        ArrayType *array = PG_GETARG_ARRAYTYPE_P(0);
        int32 typmod = PG_GETARG_INT32(1);
        if (ARR_NDIM(array) > 1)
            ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("array must be 1-D")));
        if (ARR_HASNULL(array) && array_contains_nulls(array))
            ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("array must not contain nulls")));

        Oid element_type = ARR_ELEMTYPE(array);
        int16 typlen;
        bool typbyval;
        char typalign;
        get_typlenbyvalalign(element_type, &typlen, &typbyval, &typalign);
        Datum *elements;
        int n;
        deconstruct_array(array, element_type, typlen, typbyval, typalign, &elements, nullptr, &n);
        check_dims(n);
        check_expected_dims(typmod, n);

        Vector *v = new_vector(n);
        for (int i = 0; i < n; i++) {
            switch (element_type) {
                case INT4OID: v->x[i] = float(DatumGetInt32(elements[i])); break;
                case FLOAT4OID: v->x[i] = DatumGetFloat4(elements[i]); break;
                case FLOAT8OID: v->x[i] = narrow_to_float(DatumGetFloat8(elements[i])); break;
                case NUMERICOID:
                    v->x[i] = DatumGetFloat4(DirectFunctionCall1(numeric_float4, elements[i]));
                    break;
                default:
                    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("unsupported array type")));
            }
            check_element(v->x[i]);
        }
        PG_RETURN_POINTER(v);
    });
}

Datum vector_to_float4(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum {
        VectorView v;
        VS_GETARG_VIEW(0, &v);
        Datum *elements = static_cast<Datum *>(palloc(sizeof(Datum) * v.dim));
        for (int i = 0; i < v.dim; i++) elements[i] = Float4GetDatum(v.x[i]);
        PG_RETURN_POINTER(construct_array(elements, v.dim, FLOAT4OID, sizeof(float4), true, TYPALIGN_INT));
    });
}
