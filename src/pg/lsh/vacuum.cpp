// VACUUM of an lsh index: one pass over the bucket pages in block order, through VACUUM's ring
// buffer, removing the entries of dead rows. An entry is removed by moving the page's last
// entry into its place (order within a page does not matter), so each page stays dense and
// the space goes to the bucket's next inserts (pages.cpp fills the first page with room among a
// chain's newest eight). A scan reads a page under its share lock, so it sees a page before or
// after a removal, never during one; a row whose entry a scan copied before its removal is gone from the heap only
// once no snapshot sees it, and the scan reads the row under its snapshot.
#include "pg/lsh/lsh.h"

extern "C" {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wregister"
#include "commands/vacuum.h"
#include "miscadmin.h"
#pragma GCC diagnostic pop
}

// Removes from every bucket page the entries callback names (none without a callback) and
// counts what stays: table 0 holds each row once.
static void sweep(IndexVacuumInfo *info, IndexBulkDeleteResult *stats, IndexBulkDeleteCallback callback,
                  void *callback_state) {
    Relation index = info->index;
    const LshIndexInfo lsh = *lsh_index_info(index);
    BlockNumber nblocks = RelationGetNumberOfBlocks(index);
    bool *dead = static_cast<bool *>(palloc(sizeof(bool) * lsh.capacity));
    for (BlockNumber block = 1; block < nblocks; block++) {
        vacuum_delay_point();
        Buffer buf = ReadBufferExtended(index, MAIN_FORKNUM, block, RBM_NORMAL, info->strategy);
        // Counting alone (a cleanup without deletes) only reads.
        LockBuffer(buf, callback != nullptr ? BUFFER_LOCK_EXCLUSIVE : BUFFER_LOCK_SHARE);
        Page page = BufferGetPage(buf);
        const IndexPageOpaque *opaque = index_page_opaque(page);
        if (opaque == nullptr || opaque->page_id != VS_LSH_PAGE_ID || opaque->page_type != LSH_PAGE_BUCKET) {
            UnlockReleaseBuffer(buf);
            continue;
        }
        const LshBucketHeader *header = lsh_bucket_header(page);
        if (header->table >= lsh.meta.layout.tables || header->bucket >= lsh.meta.layout.buckets) {
            UnlockReleaseBuffer(buf);
            lsh_report_corrupt(index, block, "a page of a table or bucket the layout has not");
        }
        lsh_check_bucket_page(index, &lsh, buf, header->table, header->bucket);  // its count
        const ItemPointerData *tids = lsh_bucket_tids(&lsh, page);
        uint32 n = header->count, removed = 0;
        for (uint32 i = 0; i < n; i++) {
            dead[i] = callback != nullptr && callback(const_cast<ItemPointer>(&tids[i]), callback_state);
            removed += dead[i];
        }
        if (header->table == 0) {
            stats->num_index_tuples += n - removed;
            stats->tuples_removed += removed;
        }
        if (removed > 0)
            index_edit_page(index, buf, [&](Page edited) {
                LshBucketHeader *h = lsh_bucket_header(edited);
                uint64 *sketches = lsh_bucket_sketches(edited);
                ItemPointerData *entries = lsh_bucket_tids(&lsh, edited);
                const int words = lsh.sketch_words;
                // Backwards, so that the last entry moved into a hole is one already judged live.
                for (uint32 i = n; i-- > 0;) {
                    if (!dead[i]) continue;
                    uint32 last = --h->count;
                    if (i != last) {
                        entries[i] = entries[last];
                        memcpy(sketches + std::size_t(i) * words, sketches + std::size_t(last) * words,
                               sizeof(uint64) * words);
                    }
                }
                lsh_set_bucket_hole(&lsh, edited);
            });
        UnlockReleaseBuffer(buf);
    }
    pfree(dead);
    stats->num_pages = nblocks;
}

IndexBulkDeleteResult *lsh_bulkdelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
                                      IndexBulkDeleteCallback callback, void *callback_state) {
    return vs::guard([&]() {
        if (stats == nullptr) stats = static_cast<IndexBulkDeleteResult *>(palloc0(sizeof(IndexBulkDeleteResult)));
        stats->num_index_tuples = 0;
        sweep(info, stats, callback, callback_state);
        return stats;
    });
}

IndexBulkDeleteResult *lsh_vacuumcleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats) {
    return vs::guard([&]() {
        if (info->analyze_only) return stats;
        if (stats == nullptr) {
            // No bulkdelete ran: count the entries, as the pass that would have.
            stats = static_cast<IndexBulkDeleteResult *>(palloc0(sizeof(IndexBulkDeleteResult)));
            sweep(info, stats, nullptr, nullptr);
        }
        return stats;
    });
}
