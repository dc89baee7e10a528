// WAL-logged page changes and the build's bulk writer (src/pg/index/wal.h).
#include "pg/index/wal.h"

extern "C" {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wregister"
#include "storage/smgr.h"
#pragma GCC diagnostic pop
}

void index_build_empty(Relation index, void (*init_meta)(Relation index, Page page)) {
    Page page = static_cast<Page>(palloc0(BLCKSZ));
    init_meta(index, page);
    PageSetChecksumInplace(page, VS_METAPAGE_BLKNO);
    smgrwrite(RelationGetSmgr(index), INIT_FORKNUM, VS_METAPAGE_BLKNO, reinterpret_cast<char *>(page), true);
    log_newpage(&(RelationGetSmgr(index))->smgr_rnode.node, INIT_FORKNUM, VS_METAPAGE_BLKNO, page, true);
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
