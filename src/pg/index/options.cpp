// Index options from one table per access method (src/pg/index/options.h).
#include "pg/index/options.h"

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
