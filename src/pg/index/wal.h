// WAL-logged page changes, the one way every vectorsearch index changes a page after its build,
// and the build's bulk writer, which writes pages without per-change WAL and logs them in bulk.
//
// A change is a generic WAL record (GenericXLog): the caller holds the buffer's exclusive lock,
// edit() changes the page image GenericXLog hands it, and the record is written when edit
// returns. edit may decline the change (return false): nothing is logged and the page is as it
// was. edit may also ereport: the page is then untouched, since GenericXLog applies the change
// to the buffer only in GenericXLogFinish's critical section.
#pragma once

#include "pg/index/buffer.h"
#include "pg/index/page.h"

extern "C" {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wregister"
#include "access/generic_xlog.h"
#include "access/xloginsert.h"
#include "storage/bufmgr.h"
#pragma GCC diagnostic pop
}

#include <type_traits>

// Changes the page of buf through edit(Page) and WAL-logs it; returns whether it did. flags as
// GenericXLogRegisterBuffer's (GENERIC_XLOG_FULL_IMAGE for a page written whole).
template <typename Edit>
bool index_edit_page(Relation index, Buffer buf, Edit &&edit, int flags = 0) {
    GenericXLogState *state = GenericXLogStart(index);
    Page page = GenericXLogRegisterBuffer(state, buf, flags);
    if constexpr (std::is_void_v<decltype(edit(page))>) {
        edit(page);
    } else if (!edit(page)) {
        GenericXLogAbort(state);
        return false;
    }
    GenericXLogFinish(state);
    return true;
}

// Changes two pages in one WAL record through edit(Page, Page): a page and the page that comes
// to point at it (a new chain page and the link to it) are replayed together, so that no crash
// leaves a pointer to a page that was never written. The caller holds both exclusive locks.
template <typename Edit>
void index_edit_pages(Relation index, Buffer first, int first_flags, Buffer second, int second_flags, Edit &&edit) {
    GenericXLogState *state = GenericXLogStart(index);
    Page first_page = GenericXLogRegisterBuffer(state, first, first_flags);
    Page second_page = GenericXLogRegisterBuffer(state, second, second_flags);
    edit(first_page, second_page);
    GenericXLogFinish(state);
}

// Runs change(meta) on the metapage data of index under its exclusive lock and WAL-logs it,
// unless change returns false for nothing changed. The lock is held only for change itself.
template <typename Meta, typename Change>
void index_change_meta(Relation index, Change &&change) {
    Buffer buf = index_read_buffer(index, VS_METAPAGE_BLKNO);
    LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
    index_edit_page(index, buf, [&](Page page) { return change(reinterpret_cast<Meta *>(index_page_data(page))); });
    UnlockReleaseBuffer(buf);
}

// Extends the index by one page, initialised by init(Page) and WAL-logged as a full image, and
// returns it exclusively locked. The caller holds the relation extension lock.
template <typename Init>
Buffer index_new_page(Relation index, Init &&init) {
    Buffer buf = ReadBufferExtended(index, MAIN_FORKNUM, P_NEW, RBM_NORMAL, nullptr);
    LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
    index_edit_page(index, buf, init, GENERIC_XLOG_FULL_IMAGE);
    return buf;
}

// Extends the index by one page and returns it exclusively locked and still all zeros, for the
// caller to initialise in a WAL record of its own (as a full image, GENERIC_XLOG_FULL_IMAGE).
// Until that record, readers skip the page (index_page_opaque); a crash before it leaves it so.
Buffer index_extend(Relation index);

// An unlogged index's init fork: blocks 0 .. pages - 1 (the metapage and what an empty index
// needs beside it), each as init_page writes it into a zeroed page.
void index_build_empty(Relation index, BlockNumber pages, void (*init_page)(Relation index, BlockNumber block, Page page));

// Writes a build's pages straight to the index's file in block order, as btree's build does
// (through shared buffers, each new block would be written as zeros first), WAL-logs them as
// full images in batches, and syncs the file at the end: a checkpoint during the build cannot
// know to flush pages that never were in a buffer. Trivially destructible: finish() frees it.
class IndexBulkWriter {
  public:
    void start(Relation index);
    void write(Page page);  // the next block, from 0
    void finish();

  private:
    void flush();

    Relation index_;
    bool wal_;
    BlockNumber next_;
    int n_;
    BlockNumber blocks_[XLR_MAX_BLOCK_ID];
    char *pages_[XLR_MAX_BLOCK_ID];
};
static_assert(std::is_trivially_destructible_v<IndexBulkWriter>);
