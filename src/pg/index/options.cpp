// Index options from one table per access method, and the iterative-scan settings
// (src/pg/index/options.h).
#include "pg/index/options.h"

extern "C" {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wregister"
#include "utils/guc.h"
#include "utils/memutils.h"
#pragma GCC diagnostic pop
}

void index_define_options(IndexOptionTable *table) {
    table->kind = add_reloption_kind();
    for (int i = 0; i < table->n; i++) {
        const IndexIntOption &o = table->options[i];
        add_int_reloption(table->kind, o.name, o.description, o.default_value, o.min, o.max, AccessExclusiveLock);
    }
}

bytea *index_parse_options(const IndexOptionTable *table, Datum reloptions, bool validate) {
    auto *elements = static_cast<relopt_parse_elt *>(palloc(sizeof(relopt_parse_elt) * table->n));
    for (int i = 0; i < table->n; i++)
        elements[i] = {table->options[i].name, RELOPT_TYPE_INT, int(table->options[i].offset)};
    auto *parsed = static_cast<bytea *>(
        build_reloptions(reloptions, validate, table->kind, table->struct_size, elements, table->n));
    pfree(elements);
    return parsed;
}

int index_int_option(Relation index, const IndexOptionTable *table, int i) {
    const IndexIntOption &o = table->options[i];
    if (index->rd_options == nullptr) return o.default_value;
    int value;
    memcpy(&value, reinterpret_cast<const char *>(index->rd_options) + o.offset, sizeof(value));
    return value;
}

static const struct config_enum_entry iterative_scan_modes[] = {{"off", INDEX_ITERATIVE_OFF, false},
                                                                {"relaxed_order", INDEX_ITERATIVE_RELAXED, false},
                                                                {"strict_order", INDEX_ITERATIVE_STRICT, false},
                                                                {nullptr, 0, false}};

// PostgreSQL keeps the names and descriptions it is given for the life of the server.
static char *forever(const char *format, const char *prefix) {
    return MemoryContextStrdup(TopMemoryContext, psprintf(format, prefix));
}

void index_define_iterative_gucs(const char *prefix, IterativeScanSettings *settings) {
    DefineCustomEnumVariable(forever("%s.iterative_scan", prefix), "Sets the mode of iterative scans.",
                             forever("A scan goes on searching while rows are wanted. off and strict_order: rows in "
                                     "increasing distance, dropping any row nearer than one already returned (off "
                                     "also keeps the planner from a scan expected to stop at %s.max_scan_tuples); "
                                     "relaxed_order: rows in nearly increasing distance.",
                                     prefix),
                             &settings->mode, INDEX_ITERATIVE_OFF, iterative_scan_modes, PGC_USERSET, GUC_EXPLAIN,
                             nullptr, nullptr, nullptr);
    DefineCustomIntVariable(forever("%s.max_scan_tuples", prefix), "Sets the most elements a scan visits.", nullptr,
                            &settings->max_scan_tuples, 20000, 1, INT_MAX, PGC_USERSET, GUC_EXPLAIN, nullptr, nullptr,
                            nullptr);
    DefineCustomRealVariable(forever("%s.scan_mem_multiplier", prefix), "Sets the multiple of work_mem a scan may use.",
                             nullptr, &settings->scan_mem_multiplier, 1, 1, 1000, PGC_USERSET, GUC_EXPLAIN, nullptr,
                             nullptr, nullptr);
}
