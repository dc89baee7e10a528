// The core's Allocator (src/core/index/memory.h) over a PostgreSQL memory context: what the
// core allocates is freed with the context, so an ERROR that unwinds a search or a build
// leaks nothing. Huge allocations are allowed: a build's arrays may pass 1 GB.
#pragma once

#include "pg/pg.h"

extern "C" {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wregister"
#include "utils/memutils.h"
#pragma GCC diagnostic pop
}

#include "core/index/memory.h"

inline void *index_allocate(void *context, std::size_t bytes) noexcept {
    return MemoryContextAllocHuge(static_cast<MemoryContext>(context), bytes);
}
inline void index_release(void *, void *block) noexcept { pfree(block); }

inline vs::Allocator index_allocator(MemoryContext context) { return {index_allocate, index_release, context}; }
