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
#include "storage/buf_internals.h"
#include "storage/bufmgr.h"
#pragma GCC diagnostic pop
}

// The access method's info of index, made by fill(index, info) into info_size zeroed bytes the
// first time. fill reads the metapage; it must not be called with the metapage locked.
const void *index_cached_info(Relation index, Size info_size, void (*fill)(Relation index, void *info));

// The cache, one allocation: the relcache frees rd_amcache with a single pfree when it
// invalidates the entry of an index that is open, and keeps rd_indexcxt. The memo is
// direct-mapped: at most 65,536 slots, so its size is bounded however large the index grows; a
// block whose slot another block took is read the ordinary way.
struct RecentBuffer {
    BlockNumber block;
    Buffer buffer;
};

struct IndexCache {
    void *am_info;  // after the memo, in the same allocation
    uint32 memo_mask;
    RecentBuffer memo[];
};

// The memo's slot for block, if index_cached_info has made the cache. Inline: a graph walk asks
// for a slot at every element it reaches (a call into another file cost a tenth of a short
// query's time).
inline RecentBuffer *index_memo_slot(Relation index, BlockNumber block) {
    auto *cache = static_cast<IndexCache *>(index->rd_amcache);
    return cache == nullptr ? nullptr : &cache->memo[block & cache->memo_mask];
}

// Starts loading, ahead of a pin, the descriptor of the buffer block was last found in and
// length bytes of its page from offset.
inline void index_prefetch_buffer(Relation index, BlockNumber block, Size offset, Size length) {
    RecentBuffer *slot = index_memo_slot(index, block);
    if (slot == nullptr || slot->block != block || slot->buffer <= 0) return;
    Buffer buf = slot->buffer;
    __builtin_prefetch(GetBufferDescriptor(buf - 1));
    const char *data = static_cast<const char *>(BufferGetBlock(buf)) + offset;
    Size end = Min(offset + length, Size(BLCKSZ)) - offset;
    for (Size line = 0; line < end; line += 64) __builtin_prefetch(data + line);
}

// Reports a block number no page can have (P_NEW would extend the relation).
void index_report_invalid_block(Relation index);

// ReadBuffer for index pages, through the memo of the block each buffer was last found in,
// so that most reads skip the shared buffer mapping table. The memo exists once
// index_cached_info made it; before, reads go the ordinary way.
inline Buffer index_read_buffer(Relation index, BlockNumber block) {
    if (block == InvalidBlockNumber) index_report_invalid_block(index);  // it also matches empty slots
    RecentBuffer *slot = index_memo_slot(index, block);
    if (slot == nullptr) return ReadBuffer(index, block);
    if (slot->block == block && ReadRecentBuffer(index->rd_node, MAIN_FORKNUM, block, slot->buffer))
        return slot->buffer;
    Buffer buf = ReadBuffer(index, block);
    *slot = {block, buf};
    return buf;
}
