// Index options (CREATE INDEX ... WITH (...)) from one table per access method: each option's
// name, description, range and default are written once, and defining, parsing and reading them
// with their defaults is the same code for every AM.
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
