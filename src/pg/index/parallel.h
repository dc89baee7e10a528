// The scaffolding of a parallel index build, the same for every access method: a parallel
// context whose workers run the AM's entry point, a parallel heap scan they share, the rows
// they scanned, and the WAL and buffer usage they report back. The AM adds a shared area of its
// own (am_shared) and decides what each participant does with the rows it scans.
//
//   leader   parallel_build_begin -> fill am_shared -> parallel_build_launch -> its own
//            parallel_build_scan -> parallel_build_wait -> (AM's finishing work) -> parallel_build_end
//   worker   parallel_build_attach -> parallel_build_scan -> parallel_build_detach
//
// PostgreSQL plans parallel builds only for btree: the AM asks plan_create_index_workers itself.
#pragma once

#include "pg/pg.h"

extern "C" {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wregister"
#include "access/genam.h"
#include "access/parallel.h"
#include "access/tableam.h"
#include "executor/instrument.h"
#include "nodes/execnodes.h"
#include "storage/spin.h"
#include "utils/rel.h"
#include "utils/snapshot.h"
#pragma GCC diagnostic pop
}

// In the parallel context's segment, followed by the AM's area and the parallel heap scan.
struct ParallelBuildShared {
    Oid heap_relid;
    Oid index_relid;
    bool concurrent;
    Size am_shared_offset;
    Size scan_offset;
    slock_t mutex;
    double heap_tuples;     // rows the participants scanned, under mutex
    bool broken_hot_chain;  // whether any participant's scan found one, under mutex
};

struct ParallelBuild {
    ParallelContext *pcxt;
    Snapshot snapshot;
    ParallelBuildShared *shared;
    void *am_shared;
    WalUsage *wal_usage;
    BufferUsage *buffer_usage;
};

// The leader's setup, for up to workers workers running worker_main (an extern "C" function of
// this library taking (dsm_segment *, shm_toc *)). False, with everything undone, when no
// segment can be had: the caller builds alone.
bool parallel_build_begin(ParallelBuild *build, const char *worker_main, Relation heap, Relation index,
                          IndexInfo *index_info, int workers, Size am_shared_bytes);
int parallel_build_launch(ParallelBuild *build);  // the workers launched
// Waits for the workers, adds up their WAL and buffer usage and what they scanned; returns the
// heap rows all participants scanned.
double parallel_build_wait(ParallelBuild *build, IndexInfo *index_info);
void parallel_build_end(ParallelBuild *build);

// Scans one participant's share of the heap through callback and adds the rows it saw to the
// shared count. The leader passes progress = true: it alone reports the scan's progress.
void parallel_build_scan(ParallelBuildShared *shared, Relation heap, Relation index, bool progress,
                         IndexBuildCallback callback, void *state);

// A worker's view of the build; attach opens the relations, detach closes them and reports usage.
struct ParallelBuildWorker {
    ParallelBuildShared *shared;
    void *am_shared;
    Relation heap;
    Relation index;
    LOCKMODE heap_lock;
};
void parallel_build_attach(shm_toc *toc, ParallelBuildWorker *worker);
void parallel_build_detach(shm_toc *toc, ParallelBuildWorker *worker);
