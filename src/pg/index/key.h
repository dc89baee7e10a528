// What an index stores for a row, its key: the indexed value's elements as the column's type
// holds them (float4 for vector, IEEE halves for halfvec, the bytes of a bit string, the non-zero
// elements of a sparsevec: vs::sparse_key), float4 scaled to unit length under cosine. The operator class names the element (support function 4, absent
// for vector's classes, which are float4) and the metric (support function 3); the metapage
// records both, and every phase reads and compares keys as bytes through vs::AnyKernel
// (core/index/vector_type.h), so one index implementation serves every type.
#pragma once

#include "pg/pg.h"
#include "pg/index/page.h"

extern "C" {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wregister"
#include "utils/rel.h"
#pragma GCC diagnostic pop
}

#include "core/index/vector_type.h"

#define INDEX_ELEMENT_PROC 4

// The largest dense key an index holds: 16,000 float4s, 32,000 halves, 512,000 bits. hnsw's
// keys span pages, so the limit is not the page size; it bounds what one search holds in memory.
// A sparse key is bounded by the type's 16,000 elements instead (vs::sparse_key::kMaxBytes).
#define INDEX_MAX_KEY_BYTES 64000

// The element of the index's first column, from its operator class.
vs::Element index_element(Relation index);

// ERRORs, as corruption, when the metapage's element is not the operator class's: every reader
// sizes every key by it. Called where the index's info is cached, not on every metapage read,
// since it calls the operator class's support function.
void index_check_element(Relation index, const IndexMetaHeader *meta);

// The dimensions of the index's column, from its type modifier (a bit string's length): every
// row's key has them. An error for a column without one, for bit varying (binary-coercible to
// bit, so bit's classes take it, but its rows may be shorter: pgvector refuses it too), and for
// keys past INDEX_MAX_KEY_BYTES.
int index_column_dims(Relation index, vs::Element element);

// The kernel an index of element and metric orders by, from the kernels chosen for this CPU;
// an error for a pair no operator class may declare.
vs::AnyKernel index_kernel(vs::Element element, vs::Metric metric);

// The dimensions of value, a datum of the element's type (a bit string's length in bits).
int index_key_dims(Datum value, vs::Element element);

// Writes value, of a dense type (vector or halfvec), as dims floats into out, after checking
// that it has dims: what an index that hashes floats (lsh) reads of a row or query.
void index_read_floats(Datum value, vs::Element element, int dims, float *out);

// Writes value's key, vs::element_vector_bytes(element, dims) bytes (a sparse key: at most
// that), into out, after checking that it has the index's dims. Returns false for a value with no
// key: a zero vector under cosine, which has no direction.
bool index_read_key(Datum value, vs::Element element, vs::Metric metric, int dims, unsigned char *out);
