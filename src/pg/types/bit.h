// pgvector's distances over PostgreSQL's bit type (bit.cpp), and the kernels they and the bit
// operator classes compute with.
#pragma once

#include "pg/pg.h"
#include "core/kernels/bits.h"

// The bit kernels chosen for this CPU when the library was loaded.
extern vs::BitKernels vs_bit_kernels;
