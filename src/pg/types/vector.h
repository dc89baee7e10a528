// The on-disk and in-memory form of the vector type, identical to pgvector's so that dumps,
// binary COPY and replication between the two extensions read the same bytes:
//
//   +-----------+-----------+-----------+---------------------------+
//   | varlena   | int16 dim | int16     | float4 x[dim]             |
//   | header    |           | unused(0) |                           |
//   +-----------+-----------+-----------+---------------------------+
#pragma once

#include <type_traits>

#include "pg/pg.h"
#include "core/kernels/distance.h"

#define VECTOR_MAX_DIM 16000

struct Vector {
    int32 vl_len_;  // varlena header; never touch directly
    int16 dim;
    int16 unused;
    float x[];
};

inline Size vector_size(int dim) { return offsetof(Vector, x) + sizeof(float) * dim; }

// A fresh zeroed vector of dim elements in CurrentMemoryContext.
Vector *new_vector(int dim);

// The largest vector whose varlena can have a one-byte header (126 data bytes).
constexpr int VECTOR_SHORT_MAX_DIM = (VARATT_SHORT_MAX - VARHDRSZ_SHORT - 2 * sizeof(int16)) / sizeof(float);

// A read-only view of a vector argument. Vectors are read in place without a copy; only the
// rare small vector stored with a one-byte header, whose floats are unaligned, is copied into
// the view itself, so reading never pallocs unless the value is compressed or out of line.
struct VectorView {
    int dim;
    const float *x;
    float aligned_copy[VECTOR_SHORT_MAX_DIM];
};

// Views live on the stack of functions that may ereport, so they must need no destructor.
static_assert(std::is_trivially_destructible_v<VectorView>);

void view_vector(Datum datum, VectorView *view);

// The distance kernels chosen for this CPU when the library was loaded.
extern vs::Kernels vs_kernels;

// ERRORs with SQLSTATE 22000 when a and b differ in dimensions, as pgvector does.
void check_same_dims(int a, int b);

// ERRORs on NaN or infinity, which no vector may hold.
void check_element(float value);

// ERRORs when dim is outside 1..VECTOR_MAX_DIM.
void check_dims(int dim);

// ERRORs when typmod is set and differs from dim.
void check_expected_dims(int32 typmod, int dim);

// PG_GETARG-style: a view of argument n.
#define VS_GETARG_VIEW(n, view) view_vector(PG_GETARG_DATUM(n), (view))
