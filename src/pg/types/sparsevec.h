// The sparsevec type, pgvector's layout byte for byte so that dumps, binary COPY and replication
// read the same bytes: the dimensions, then only the non-zero elements, as 0-based indices in
// strictly ascending order followed by their values.
//
//   +-----------+-----------+-----------+-----------+------------------+------------------+
//   | varlena   | int32 dim | int32 nnz | int32     | int32            | float4           |
//   | header    |           |           | unused(0) | indices[nnz]     | values[nnz]      |
//   +-----------+-----------+-----------+-----------+------------------+------------------+
#pragma once

#include "pg/pg.h"
#include "core/kernels/sparse.h"

#define SPARSEVEC_MAX_DIM 1000000000
#define SPARSEVEC_MAX_NNZ 16000

struct SparseVec {
    int32 vl_len_;  // varlena header; never touch directly
    int32 dim;
    int32 nnz;
    int32 unused;
    int32 indices[];  // followed by float4 values[nnz]
};

inline Size sparsevec_size(int nnz) { return offsetof(SparseVec, indices) + Size(nnz) * (sizeof(int32) + sizeof(float)); }
inline float *sparsevec_values(SparseVec *v) { return reinterpret_cast<float *>(v->indices + v->nnz); }
inline const float *sparsevec_values(const SparseVec *v) { return reinterpret_cast<const float *>(v->indices + v->nnz); }
inline vs::SparseVector sparsevec_view(const SparseVec *v) {
    return {std::size_t(v->nnz), v->indices, sparsevec_values(v)};
}

// A detoasted argument, after checking that its size matches its count of elements.
SparseVec *sparsevec_arg(Datum datum);
