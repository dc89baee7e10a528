// The per-index cache with its buffer memo (src/pg/index/buffer.h). The memo is direct-mapped:
// at most INDEX_MEMO_ENTRIES slots, so its size is bounded however large the index grows; a block
// whose slot another block took is read the ordinary way.
#include "pg/index/buffer.h"

extern "C" {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wregister"
#include "storage/buf_internals.h"
#include "utils/memutils.h"
#pragma GCC diagnostic pop
}

struct RecentBuffer {
    BlockNumber block;
    Buffer buffer;
};

// One allocation: the relcache frees rd_amcache with a single pfree when it invalidates the
// entry of an index that is open, and keeps rd_indexcxt.
struct IndexCache {
    uint32 memo_mask;
    RecentBuffer *memo;  // after the AM's info, in the same allocation
    // followed by the AM's info, MAXALIGNed
};

static void *am_info(IndexCache *cache) { return reinterpret_cast<char *>(cache) + MAXALIGN(sizeof(IndexCache)); }

// 512 KB per index and backend at most: the vector and link pages of a 784-d, 200 MB hnsw index.
constexpr uint32 INDEX_MEMO_ENTRIES = 65536;

const void *index_cached_info(Relation index, Size info_size, void (*fill)(Relation index, void *info)) {
    if (index->rd_amcache == nullptr) {
        // Filled first in the caller's context: a fill that fails (an index of another layout)
        // leaves nothing in rd_indexcxt.
        void *info = palloc0(info_size);
        fill(index, info);
        uint32 entries = 1024;
        for (BlockNumber nblocks = RelationGetNumberOfBlocks(index); entries < nblocks && entries < INDEX_MEMO_ENTRIES;)
            entries *= 2;
        Size memo_offset = MAXALIGN(sizeof(IndexCache)) + MAXALIGN(info_size);
        auto *cache = static_cast<IndexCache *>(
            MemoryContextAlloc(index->rd_indexcxt, memo_offset + sizeof(RecentBuffer) * entries));
        cache->memo_mask = entries - 1;
        cache->memo = reinterpret_cast<RecentBuffer *>(reinterpret_cast<char *>(cache) + memo_offset);
        for (uint32 i = 0; i < entries; i++) cache->memo[i] = {InvalidBlockNumber, InvalidBuffer};
        memcpy(am_info(cache), info, info_size);
        pfree(info);
        index->rd_amcache = cache;
    }
    return am_info(static_cast<IndexCache *>(index->rd_amcache));
}

static RecentBuffer *memo_slot(Relation index, BlockNumber block) {
    auto *cache = static_cast<IndexCache *>(index->rd_amcache);
    return cache == nullptr ? nullptr : &cache->memo[block & cache->memo_mask];
}

void index_prefetch_buffer(Relation index, BlockNumber block, Size offset, Size length) {
    RecentBuffer *slot = memo_slot(index, block);
    if (slot == nullptr || slot->block != block || slot->buffer <= 0) return;
    Buffer buf = slot->buffer;
    __builtin_prefetch(GetBufferDescriptor(buf - 1));
    const char *data = static_cast<const char *>(BufferGetBlock(buf)) + offset;
    Size end = Min(offset + length, Size(BLCKSZ)) - offset;
    for (Size line = 0; line < end; line += 64) __builtin_prefetch(data + line);
}

Buffer index_read_buffer(Relation index, BlockNumber block) {
    // P_NEW would extend the relation, and matches the memo's empty slots.
    if (block == InvalidBlockNumber)
        ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                        errmsg("index \"%s\" points to an invalid block", RelationGetRelationName(index))));
    RecentBuffer *slot = memo_slot(index, block);
    if (slot == nullptr) return ReadBuffer(index, block);
    if (slot->block == block && ReadRecentBuffer(index->rd_node, MAIN_FORKNUM, block, slot->buffer))
        return slot->buffer;
    Buffer buf = ReadBuffer(index, block);
    *slot = {block, buf};
    return buf;
}
