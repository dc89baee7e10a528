"""vectorsearch's index access methods, as the Python tests (test_index.py) and the benchmark
(bench/bench.py) use them: adding an access method here runs the generic index tests against it
and lets bench/run build it. Per access method:

    with            the WITH clause of the tests' indexes
    scans           settings of a scan: 'accurate' (every recall floor of the tests is asserted
                    with it), 'default' (none changed) and 'fast' (cheaper: no more recall)
    iterative_scan  the setting that lets a scan go on past its first batch until the LIMIT is
                    met (its values off, relaxed_order, strict_order), or None
    parallel_build  whether CREATE INDEX uses parallel workers (the AM then says "<name> build
                    with N parallel workers" at DEBUG1)
    memory_notice   the start of the NOTICE of a build that outgrows maintenance_work_mem
    default_floors  the least recall a default scan must reach with a filter that passes 1 row in
                    10 (per iterative_scan mode) and at LIMIT 100: hnsw's default ef_search holds
                    0.98 at LIMIT 10; lsh's default target is 0.9, within the 0.03 it promises
    knob, sweep     bench/run: the setting swept at query time and its default values
"""

INDEX_TYPES = {
    "hnsw": {
        "with": "m = 16, ef_construction = 64",
        "scans": {"accurate": {"hnsw.ef_search": 100}, "default": {}, "fast": {"hnsw.ef_search": 10}},
        "iterative_scan": "hnsw.iterative_scan",
        "parallel_build": True,
        "memory_notice": "hnsw graph no longer fits into maintenance_work_mem",
        "default_floors": {"off": 0.96, "relaxed_order": 0.98, "strict_order": 0.96, "limit_100": 0.95},
        "knob": "hnsw.ef_search",
        "sweep": [10, 20, 40, 80, 160, 320],
    },
    "lsh": {
        "with": "shape_rows = 1000",
        "scans": {"accurate": {"lsh.target_recall": 0.999}, "default": {}, "fast": {"lsh.target_recall": 0.8}},
        "iterative_scan": "lsh.iterative_scan",
        "parallel_build": True,
        "memory_notice": "lsh build no longer fits into maintenance_work_mem",
        "default_floors": {"off": 0.87, "relaxed_order": 0.87, "strict_order": 0.87, "limit_100": 0.87},
        "knob": "lsh.target_recall",
        "sweep": [0.8, 0.9, 0.95, 0.98, 0.99, 0.995],
    },
}
