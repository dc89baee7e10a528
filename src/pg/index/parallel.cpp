// The parallel-build scaffolding of src/pg/index/parallel.h.
#include "pg/index/parallel.h"

extern "C" {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wregister"
#include "access/relscan.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "utils/snapmgr.h"
#pragma GCC diagnostic pop
}

#define BUILD_SHARED_KEY UINT64CONST(0xA000000000000001)
#define BUILD_WAL_USAGE_KEY UINT64CONST(0xA000000000000002)
#define BUILD_BUFFER_USAGE_KEY UINT64CONST(0xA000000000000003)

static char *at(ParallelBuildShared *shared, Size offset) { return reinterpret_cast<char *>(shared) + offset; }

bool parallel_build_begin(ParallelBuild *build, const char *worker_main, Relation heap, Relation index,
                          IndexInfo *index_info, int workers, Size am_shared_bytes) {
    build->snapshot = index_info->ii_Concurrent ? RegisterSnapshot(GetTransactionSnapshot()) : SnapshotAny;
    EnterParallelMode();
    ParallelContext *pcxt = CreateParallelContext("vectorsearch", worker_main, workers);
    Size am_shared_offset = BUFFERALIGN(sizeof(ParallelBuildShared));
    Size scan_offset = am_shared_offset + BUFFERALIGN(am_shared_bytes);
    Size shared_bytes = scan_offset + table_parallelscan_estimate(heap, build->snapshot);
    shm_toc_estimate_chunk(&pcxt->estimator, shared_bytes);
    shm_toc_estimate_chunk(&pcxt->estimator, mul_size(sizeof(WalUsage), pcxt->nworkers));
    shm_toc_estimate_chunk(&pcxt->estimator, mul_size(sizeof(BufferUsage), pcxt->nworkers));
    shm_toc_estimate_keys(&pcxt->estimator, 3);
    InitializeParallelDSM(pcxt);
    if (pcxt->seg == nullptr) {
        DestroyParallelContext(pcxt);
        ExitParallelMode();
        if (IsMVCCSnapshot(build->snapshot)) UnregisterSnapshot(build->snapshot);
        return false;
    }
    build->pcxt = pcxt;
    auto *shared = static_cast<ParallelBuildShared *>(shm_toc_allocate(pcxt->toc, shared_bytes));
    shared->heap_relid = RelationGetRelid(heap);
    shared->index_relid = RelationGetRelid(index);
    shared->concurrent = index_info->ii_Concurrent;
    shared->am_shared_offset = am_shared_offset;
    shared->scan_offset = scan_offset;
    SpinLockInit(&shared->mutex);
    shared->heap_tuples = 0;
    shared->broken_hot_chain = false;
    table_parallelscan_initialize(heap, reinterpret_cast<ParallelTableScanDesc>(at(shared, scan_offset)),
                                  build->snapshot);
    build->shared = shared;
    build->am_shared = at(shared, am_shared_offset);
    build->wal_usage = static_cast<WalUsage *>(shm_toc_allocate(pcxt->toc, mul_size(sizeof(WalUsage), pcxt->nworkers)));
    build->buffer_usage =
        static_cast<BufferUsage *>(shm_toc_allocate(pcxt->toc, mul_size(sizeof(BufferUsage), pcxt->nworkers)));
    shm_toc_insert(pcxt->toc, BUILD_SHARED_KEY, shared);
    shm_toc_insert(pcxt->toc, BUILD_WAL_USAGE_KEY, build->wal_usage);
    shm_toc_insert(pcxt->toc, BUILD_BUFFER_USAGE_KEY, build->buffer_usage);
    return true;
}

int parallel_build_launch(ParallelBuild *build) {
    LaunchParallelWorkers(build->pcxt);
    return build->pcxt->nworkers_launched;
}

double parallel_build_wait(ParallelBuild *build, IndexInfo *index_info) {
    WaitForParallelWorkersToFinish(build->pcxt);
    for (int i = 0; i < build->pcxt->nworkers_launched; i++)
        InstrAccumParallelQuery(&build->buffer_usage[i], &build->wal_usage[i]);
    // CREATE INDEX then sets indcheckxmin, as after a serial scan that found one.
    if (build->shared->broken_hot_chain) index_info->ii_BrokenHotChain = true;
    return build->shared->heap_tuples;
}

void parallel_build_end(ParallelBuild *build) {
    DestroyParallelContext(build->pcxt);
    ExitParallelMode();
    if (IsMVCCSnapshot(build->snapshot)) UnregisterSnapshot(build->snapshot);
}

void parallel_build_scan(ParallelBuildShared *shared, Relation heap, Relation index, bool progress,
                         IndexBuildCallback callback, void *state) {
    IndexInfo *index_info = BuildIndexInfo(index);
    index_info->ii_Concurrent = shared->concurrent;
    TableScanDesc scan =
        table_beginscan_parallel(heap, reinterpret_cast<ParallelTableScanDesc>(at(shared, shared->scan_offset)));
    double heap_tuples = table_index_build_scan(heap, index, index_info, true, progress, callback, state, scan);
    SpinLockAcquire(&shared->mutex);
    shared->heap_tuples += heap_tuples;
    shared->broken_hot_chain |= index_info->ii_BrokenHotChain;
    SpinLockRelease(&shared->mutex);
}

void parallel_build_attach(shm_toc *toc, ParallelBuildWorker *worker) {
    auto *shared = static_cast<ParallelBuildShared *>(shm_toc_lookup(toc, BUILD_SHARED_KEY, false));
    worker->shared = shared;
    worker->am_shared = at(shared, shared->am_shared_offset);
    // The leader holds stronger locks for the whole build; these only keep the relations open.
    worker->heap_lock = shared->concurrent ? ShareUpdateExclusiveLock : ShareLock;
    worker->heap = table_open(shared->heap_relid, worker->heap_lock);
    worker->index = index_open(shared->index_relid, RowExclusiveLock);
    InstrStartParallelQuery();
}

void parallel_build_detach(shm_toc *toc, ParallelBuildWorker *worker) {
    auto *wal_usage = static_cast<WalUsage *>(shm_toc_lookup(toc, BUILD_WAL_USAGE_KEY, false));
    auto *buffer_usage = static_cast<BufferUsage *>(shm_toc_lookup(toc, BUILD_BUFFER_USAGE_KEY, false));
    InstrEndParallelQuery(&buffer_usage[ParallelWorkerNumber], &wal_usage[ParallelWorkerNumber]);
    index_close(worker->index, RowExclusiveLock);
    table_close(worker->heap, worker->heap_lock);
}
