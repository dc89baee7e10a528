// Making the per-index cache with its buffer memo (src/pg/index/buffer.h).
#include "pg/index/buffer.h"

extern "C" {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wregister"
#include "utils/memutils.h"
#pragma GCC diagnostic pop
}

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
        Size info_offset = MAXALIGN(offsetof(IndexCache, memo) + sizeof(RecentBuffer) * entries);
        auto *cache = static_cast<IndexCache *>(MemoryContextAlloc(index->rd_indexcxt, info_offset + info_size));
        cache->am_info = reinterpret_cast<char *>(cache) + info_offset;
        cache->memo_mask = entries - 1;
        for (uint32 i = 0; i < entries; i++) cache->memo[i] = {InvalidBlockNumber, InvalidBuffer};
        memcpy(cache->am_info, info, info_size);
        pfree(info);
        index->rd_amcache = cache;
    }
    return static_cast<IndexCache *>(index->rd_amcache)->am_info;
}

void index_report_invalid_block(Relation index) {
    ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                    errmsg("index \"%s\" points to an invalid block", RelationGetRelationName(index))));
}
