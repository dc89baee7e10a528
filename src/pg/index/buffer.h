// Reading an index's pages, and what a backend keeps of each index between calls.
//
// Ownership: the relcache entry of an index owns, in its rd_indexcxt, an IndexCache made at the
// first read through index_cached_info and freed at a relcache invalidation of the entry (any
// time a caller accepts invalidations: opening a relation, taking a lock). It is one allocation,
// made once and never resized, holding the access method's info (its layout, read from the
// metapage) and the buffer memo, so that the relcache's one pfree of rd_amcache frees both. A
// caller that keeps the info across such a call copies it rather than the pointer.
#pragma once

#include "pg/index/page.h"

extern "C" {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wregister"
#include "storage/bufmgr.h"
#pragma GCC diagnostic pop
}

// The access method's info of index, made by fill(index, info) into info_size zeroed bytes the
// first time. fill reads the metapage; it must not be called with the metapage locked.
const void *index_cached_info(Relation index, Size info_size, void (*fill)(Relation index, void *info));

// ReadBuffer for index pages, through the memo of the block each buffer was last found in,
// so that most reads skip the shared buffer mapping table. The memo exists once
// index_cached_info made it; before, reads go the ordinary way.
Buffer index_read_buffer(Relation index, BlockNumber block);
// Starts loading, ahead of a pin, the descriptor of the buffer block was last found in and
// length bytes of its page from offset.
void index_prefetch_buffer(Relation index, BlockNumber block, Size offset, Size length);
