// Keys of every element type (key.h): the element support functions, and reading a value into
// its key.
#include "pg/index/key.h"

#include <cmath>

extern "C" {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wregister"
#include "access/genam.h"
#include "commands/defrem.h"
#include "utils/varbit.h"
#pragma GCC diagnostic pop
}

#include "pg/types/bit.h"
#include "pg/types/dense.h"
#include "pg/types/sparsevec.h"

// Each takes an unused internal argument, so SQL cannot call it, and returns its element's
// number.
extern "C" {
PG_FUNCTION_INFO_V1(vectorsearch_halfvec_element);
PG_FUNCTION_INFO_V1(vectorsearch_bit_element);
PG_FUNCTION_INFO_V1(vectorsearch_sparsevec_element);
}

Datum vectorsearch_halfvec_element(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { PG_RETURN_INT32(int32(vs::Element::Half)); });
}
Datum vectorsearch_bit_element(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { PG_RETURN_INT32(int32(vs::Element::Bit)); });
}
Datum vectorsearch_sparsevec_element(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { PG_RETURN_INT32(int32(vs::Element::Sparse)); });
}

static_assert(vs::sparse_key::kMaxNnz == SPARSEVEC_MAX_NNZ);

vs::Element index_element(Relation index) {
    if (!OidIsValid(index_getprocid(index, 1, INDEX_ELEMENT_PROC))) return vs::Element::Float4;
    FmgrInfo *proc = index_getprocinfo(index, 1, INDEX_ELEMENT_PROC);
    int32 value = DatumGetInt32(FunctionCall1Coll(proc, InvalidOid, PointerGetDatum(index)));
    if (!vs::element_valid(value)) elog(ERROR, "element support function returned %d", value);
    return vs::Element(value);
}

void index_check_element(Relation index, const IndexMetaHeader *meta) {
    if (meta->element_type != uint16(index_element(index)))
        ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                        errmsg("index \"%s\" has a corrupt metapage (element type %u, its operator class's %d)",
                               RelationGetRelationName(index), meta->element_type, int(index_element(index))),
                        errhint("REINDEX the index.")));
}

int index_column_dims(Relation index, vs::Element element) {
    const char *am = get_am_name(index->rd_rel->relam);
    if (TupleDescAttr(index->rd_att, 0)->atttypid == VARBITOID)
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("type not supported for %s index", am),
                        errhint("Index the expression column::bit(n).")));
    int dims = TupleDescAttr(index->rd_att, 0)->atttypmod;
    if (dims < 0)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("column does not have dimensions"),
                        errhint("Declare the column as vector(n), halfvec(n), sparsevec(n) or bit(n).")));
    // A sparse key's size follows its non-zero elements, which the type limits, not its dimensions.
    if (element != vs::Element::Sparse && vs::element_vector_bytes(element, dims) > INDEX_MAX_KEY_BYTES) {
        int limit = element == vs::Element::Bit ? INDEX_MAX_KEY_BYTES * 8
                                                : int(INDEX_MAX_KEY_BYTES / vs::element_vector_bytes(element, 1));
        ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                        errmsg("column cannot have more than %d dimensions for %s index", limit, am)));
    }
    return dims;
}

vs::AnyKernel index_kernel(vs::Element element, vs::Metric metric) {
    vs::AnyKernel kernel = vs::any_kernel(element, metric, vs_kernels, vs_half_kernels, vs_bit_kernels);
    if (!kernel)
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                        errmsg("no index orders elements of type %d by metric %d", int(element), int(metric))));
    return kernel;
}

int index_key_dims(Datum value, vs::Element element) {
    switch (element) {
        case vs::Element::Half: {
            DenseView<HalfvecType> v;
            view_vector(value, &v);
            return v.dim;
        }
        case vs::Element::Bit: return int(VARBITLEN(DatumGetVarBitP(value)));
        case vs::Element::Sparse: return sparsevec_arg(value)->dim;
        case vs::Element::Float4: break;
    }
    VectorView v;
    view_vector(value, &v);
    return v.dim;
}

// Under cosine a float key is scaled to unit length, so that the index orders by the cheaper
// negative inner product, in the operator's order to within float rounding (1e-7). Halves scaled
// and rounded back would break it at 1e-4, so a halfvec key stays as it is (its index computes
// the cosine distance itself). A zero vector has no direction and no key under cosine.
template <class T>
static bool read_dense_key(Datum value, vs::Metric metric, int dims, unsigned char *out) {
    DenseView<T> v;
    view_vector(value, &v);
    check_expected_dims(dims, v.dim);
    auto *x = reinterpret_cast<typename T::Element *>(out);
    memcpy(x, v.x, sizeof(x[0]) * v.dim);
    if (metric != vs::Metric::Cosine) return true;
    double norm = 0;
    for (int i = 0; i < v.dim; i++) {
        double e = T::widen(x[i]);
        norm += e * e;
    }
    if (norm <= 0) return false;
    if (!std::is_same_v<T, VectorType>) return true;
    norm = std::sqrt(norm);
    for (int i = 0; i < v.dim; i++) x[i] = T::narrow(float(T::widen(x[i]) / norm));
    return true;
}

template <class T>
static void read_dense_floats(Datum value, int dims, float *out) {
    DenseView<T> v;
    view_vector(value, &v);
    check_expected_dims(dims, v.dim);
    for (int i = 0; i < v.dim; i++) out[i] = T::widen(v.x[i]);
}

void index_read_floats(Datum value, vs::Element element, int dims, float *out) {
    switch (element) {
        case vs::Element::Float4: return read_dense_floats<VectorType>(value, dims, out);
        case vs::Element::Half: return read_dense_floats<HalfvecType>(value, dims, out);
        case vs::Element::Bit:
        case vs::Element::Sparse: break;
    }
    elog(ERROR, "only dense vectors are read as floats");
}

bool index_read_key(Datum value, vs::Element element, vs::Metric metric, int dims, unsigned char *out) {
    switch (element) {
        case vs::Element::Half: return read_dense_key<HalfvecType>(value, metric, dims, out);
        case vs::Element::Bit: {
            VarBit *bits = DatumGetVarBitP(value);
            check_expected_dims(dims, int(VARBITLEN(bits)));
            memcpy(out, VARBITS(bits), vs::element_vector_bytes(element, dims));
            return true;
        }
        case vs::Element::Sparse: {
            // Its count, indices and values; under cosine a vector with no elements (the type keeps
            // no zeros) has no direction.
            const SparseVec *v = sparsevec_arg(value);
            check_expected_dims(dims, v->dim);
            if (metric == vs::Metric::Cosine && v->nnz == 0) return false;
            memcpy(out, &v->nnz, sizeof(int32));
            memcpy(out + sizeof(int32), v->indices, vs::sparse_key::bytes(Size(v->nnz)) - sizeof(int32));
            return true;
        }
        case vs::Element::Float4: break;
    }
    return read_dense_key<VectorType>(value, metric, dims, out);
}
