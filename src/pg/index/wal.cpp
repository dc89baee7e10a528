// WAL-logged page changes and the build's bulk writer (src/pg/index/wal.h).
#include "pg/index/wal.h"

extern "C" {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wregister"
#include "storage/lmgr.h"
#include "storage/smgr.h"
#pragma GCC diagnostic pop
}

Buffer index_extend(Relation index) {
    LockRelationForExtension(index, ExclusiveLock);
    Buffer buf = ReadBufferExtended(index, MAIN_FORKNUM, P_NEW, RBM_NORMAL, nullptr);
    UnlockRelationForExtension(index, ExclusiveLock);
    LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
    return buf;
}

void index_build_empty(Relation index, BlockNumber pages, void (*init_page)(Relation index, BlockNumber block, Page page)) {
    Page page = static_cast<Page>(palloc(BLCKSZ));
    for (BlockNumber block = 0; block < pages; block++) {
        memset(page, 0, BLCKSZ);
        init_page(index, block, page);
        PageSetChecksumInplace(page, block);
        smgrextend(RelationGetSmgr(index), INIT_FORKNUM, block, reinterpret_cast<char *>(page), true);
        log_newpage(&(RelationGetSmgr(index))->smgr_rnode.node, INIT_FORKNUM, block, page, true);
    }
    smgrimmedsync(RelationGetSmgr(index), INIT_FORKNUM);
    pfree(page);
}

void IndexBulkWriter::start(Relation index) {
    index_ = index;
    wal_ = RelationNeedsWAL(index);
    next_ = 0;
    n_ = 0;
    for (char *&page : pages_) page = static_cast<char *>(palloc(BLCKSZ));
}

void IndexBulkWriter::write(Page page) {
    memcpy(pages_[n_], page, BLCKSZ);
    blocks_[n_] = next_++;
    if (++n_ == XLR_MAX_BLOCK_ID) flush();
}

void IndexBulkWriter::finish() {
    flush();
    if (wal_) smgrimmedsync(RelationGetSmgr(index_), MAIN_FORKNUM);
    for (char *page : pages_) pfree(page);
}

void IndexBulkWriter::flush() {
    if (n_ == 0) return;
    if (wal_) log_newpages(&index_->rd_node, MAIN_FORKNUM, n_, blocks_, pages_, true);
    for (int i = 0; i < n_; i++) {
        PageSetChecksumInplace(pages_[i], blocks_[i]);
        smgrextend(RelationGetSmgr(index_), MAIN_FORKNUM, blocks_[i], pages_[i], true);
    }
    n_ = 0;
}
