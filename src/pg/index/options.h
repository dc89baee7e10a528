// Index options (CREATE INDEX ... WITH (...)) from one table per access method: each option's
// name, description, range and default are written once, and defining, parsing and reading them
// with their defaults is the same code for every AM. And the settings of iterative scans, which
// every AM has under its own prefix (hnsw.iterative_scan, lsh.iterative_scan, ...).
#pragma once

#include "pg/pg.h"

extern "C" {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wregister"
#include "access/reloptions.h"
#include "utils/rel.h"
#pragma GCC diagnostic pop
}

// An integer option, stored at offset in the AM's options struct (which begins with the varlena
// header, as build_reloptions writes it).
struct IndexIntOption {
    const char *name;
    const char *description;
    int default_value;
    int min;
    int max;
    Size offset;
};

struct IndexOptionTable {
    const IndexIntOption *options;
    int n;
    Size struct_size;
    relopt_kind kind;  // set by index_define_options
};

// Registers the table's options with PostgreSQL; called once, from _PG_init.
void index_define_options(IndexOptionTable *table);
// amoptions: the parsed options, or with validate an error (22023) for an unknown or
// out-of-range one.
bytea *index_parse_options(const IndexOptionTable *table, Datum reloptions, bool validate);
// The value of option i for index: as stored, or its default when the index has no WITH clause.
int index_int_option(Relation index, const IndexOptionTable *table, int i);

// How a scan continues past its first batch: the value of <prefix>.iterative_scan.
#define INDEX_ITERATIVE_OFF 0
#define INDEX_ITERATIVE_RELAXED 1
#define INDEX_ITERATIVE_STRICT 2

struct IterativeScanSettings {
    int mode;                    // <prefix>.iterative_scan
    int max_scan_tuples;         // <prefix>.max_scan_tuples
    double scan_mem_multiplier;  // <prefix>.scan_mem_multiplier
};

// Defines <prefix>.iterative_scan, .max_scan_tuples and .scan_mem_multiplier, all GUC_EXPLAIN
// (they decide a scan's recall and cost, so EXPLAIN (SETTINGS) shows them when changed), into
// settings; called once, from _PG_init.
void index_define_iterative_gucs(const char *prefix, IterativeScanSettings *settings);
