/*
 * ferry-job-sample.c: text form of job-stat samples, so that sequences recorded by the monitor
 * can be replayed through the policy in tests.
 */
#include "engine/ferry-job-sample.h"

#include <math.h>
#include <stddef.h>

/* clang-format off */
G_DEFINE_QUARK(ferry-job-sample-error-quark, ferry_job_sample_error)
/* clang-format on */

typedef enum {
    FIELD_SECONDS,
    FIELD_U64,
    FIELD_BOOLEAN,
} FieldType;

typedef struct {
    const char *name;
    FieldType type;
    size_t offset;
} FieldInfo;

/* clang-format off */
#define FIELD(member, kind) {#member, kind, offsetof(FerryJobSample, member)}

static const FieldInfo field_infos[] = {
    FIELD(elapsed_s, FIELD_SECONDS),
    FIELD(data_total, FIELD_U64),
    FIELD(data_processed, FIELD_U64),
    FIELD(data_remaining, FIELD_U64),
    FIELD(mem_total, FIELD_U64),
    FIELD(mem_processed, FIELD_U64),
    FIELD(mem_remaining, FIELD_U64),
    FIELD(mem_bps, FIELD_U64),
    FIELD(mem_dirty_rate, FIELD_U64),
    FIELD(mem_page_size, FIELD_U64),
    FIELD(mem_iteration, FIELD_U64),
    FIELD(disk_total, FIELD_U64),
    FIELD(disk_processed, FIELD_U64),
    FIELD(disk_remaining, FIELD_U64),
    FIELD(disk_bps, FIELD_U64),
    FIELD(expected_downtime_ms, FIELD_U64),
    FIELD(postcopy, FIELD_BOOLEAN),
    FIELD(paused, FIELD_BOOLEAN),
};
G_STATIC_ASSERT(G_N_ELEMENTS(field_infos) == FERRY_JOB_SAMPLE_N_FIELDS);
/* clang-format on */
G_STATIC_ASSERT(FERRY_JOB_SAMPLE_N_FIELDS <= G_MAXUINT8);

char *
ferry_job_sample_format_header(void)
{
    g_autoptr(GString) out = g_string_new(NULL);

    for (gsize i = 0; i < G_N_ELEMENTS(field_infos); i++) {
        if (i > 0)
            g_string_append_c(out, ' ');
        g_string_append(out, field_infos[i].name);
    }
    return g_string_free(g_steal_pointer(&out), FALSE);
}

char *
ferry_job_sample_format_line(const FerryJobSample *sample)
{
    g_autoptr(GString) out = g_string_new(NULL);

    for (gsize i = 0; i < G_N_ELEMENTS(field_infos); i++) {
        const char *field = (const char *)sample + field_infos[i].offset;

        if (i > 0)
            g_string_append_c(out, ' ');
        switch (field_infos[i].type) {
        case FIELD_SECONDS: {
            char buf[G_ASCII_DTOSTR_BUF_SIZE];

            g_string_append(out, g_ascii_formatd(buf, sizeof(buf), "%.3f", *(const double *)field));
            break;
        }
        case FIELD_U64:
            g_string_append_printf(out, "%" G_GUINT64_FORMAT, *(const guint64 *)field);
            break;
        case FIELD_BOOLEAN:
            g_string_append_c(out, *(const gboolean *)field ? '1' : '0');
            break;
        }
    }
    return g_string_free(g_steal_pointer(&out), FALSE);
}

void
ferry_job_sample_columns_init_default(FerryJobSampleColumns *columns)
{
    columns->n_columns = FERRY_JOB_SAMPLE_N_FIELDS;
    for (guint i = 0; i < FERRY_JOB_SAMPLE_N_FIELDS; i++)
        columns->field[i] = i;
}

static gint
field_find(const char *name)
{
    for (gsize i = 0; i < G_N_ELEMENTS(field_infos); i++) {
        if (g_str_equal(field_infos[i].name, name))
            return i;
    }
    return -1;
}

gboolean
ferry_job_sample_columns_parse_header(FerryJobSampleColumns *columns, const char *line,
                                      GError **error)
{
    FerryJobSampleColumns parsed = {0};
    gboolean seen[FERRY_JOB_SAMPLE_N_FIELDS] = {FALSE};
    g_auto(GStrv) words = g_strsplit_set(line, " \t\r\n", -1);

    for (gsize i = 0; words[i]; i++) {
        gint field;

        if (words[i][0] == '\0')
            continue;
        field = field_find(words[i]);
        if (field < 0) {
            g_set_error(error, FERRY_JOB_SAMPLE_ERROR, FERRY_JOB_SAMPLE_ERROR_PARSE,
                        "unknown job sample field '%s' in header", words[i]);
            return FALSE;
        }
        if (seen[field]) {
            g_set_error(error, FERRY_JOB_SAMPLE_ERROR, FERRY_JOB_SAMPLE_ERROR_PARSE,
                        "job sample field '%s' named twice in header", words[i]);
            return FALSE;
        }
        seen[field] = TRUE;
        parsed.field[parsed.n_columns++] = field;
    }
    if (parsed.n_columns == 0) {
        g_set_error_literal(error, FERRY_JOB_SAMPLE_ERROR, FERRY_JOB_SAMPLE_ERROR_PARSE,
                            "job sample header names no field");
        return FALSE;
    }
    *columns = parsed;
    return TRUE;
}

static gboolean
field_parse(const FieldInfo *info, const char *word, FerryJobSample *sample, GError **error)
{
    char *field = (char *)sample + info->offset;

    if (g_str_equal(word, "-"))
        return TRUE; /* missing: stays 0 */

    switch (info->type) {
    case FIELD_SECONDS: {
        char *end = NULL;
        double value = g_ascii_strtod(word, &end);

        if (end == word || *end != '\0' || !isfinite(value) || value < 0) {
            g_set_error(error, FERRY_JOB_SAMPLE_ERROR, FERRY_JOB_SAMPLE_ERROR_PARSE,
                        "invalid value '%s' for '%s': expected seconds >= 0", word, info->name);
            return FALSE;
        }
        *(double *)field = value;
        return TRUE;
    }
    case FIELD_U64: {
        guint64 value;

        if (!g_ascii_string_to_unsigned(word, 10, 0, G_MAXUINT64, &value, error)) {
            g_prefix_error(error, "invalid value for '%s': ", info->name);
            return FALSE;
        }
        *(guint64 *)field = value;
        return TRUE;
    }
    case FIELD_BOOLEAN:
        if (g_str_equal(word, "0") || g_str_equal(word, "1")) {
            *(gboolean *)field = word[0] == '1';
            return TRUE;
        }
        g_set_error(error, FERRY_JOB_SAMPLE_ERROR, FERRY_JOB_SAMPLE_ERROR_PARSE,
                    "invalid value '%s' for '%s': expected 0 or 1", word, info->name);
        return FALSE;
    }
    g_assert_not_reached();
}

gboolean
ferry_job_sample_parse_line_columns(const FerryJobSampleColumns *columns, const char *line,
                                    FerryJobSample *sample, GError **error)
{
    FerryJobSample parsed = {0};
    g_auto(GStrv) words = g_strsplit_set(line, " \t\r\n", -1);
    guint n = 0;

    for (gsize i = 0; words[i]; i++) {
        if (words[i][0] == '\0')
            continue;
        if (n >= columns->n_columns) {
            g_set_error(error, FERRY_JOB_SAMPLE_ERROR, FERRY_JOB_SAMPLE_ERROR_PARSE,
                        "job sample line has more than %u values", columns->n_columns);
            return FALSE;
        }
        if (!field_parse(&field_infos[columns->field[n]], words[i], &parsed, error))
            return FALSE;
        n++;
    }
    if (n != columns->n_columns) {
        g_set_error(error, FERRY_JOB_SAMPLE_ERROR, FERRY_JOB_SAMPLE_ERROR_PARSE,
                    "job sample line has %u values, the header names %u", n, columns->n_columns);
        return FALSE;
    }
    *sample = parsed;
    return TRUE;
}

gboolean
ferry_job_sample_parse_line(const char *line, FerryJobSample *sample, GError **error)
{
    FerryJobSampleColumns columns;

    ferry_job_sample_columns_init_default(&columns);
    return ferry_job_sample_parse_line_columns(&columns, line, sample, error);
}
