/*
 * ferry-cli-suggest.c: "did you mean" -- the closest of a few known words to a mistyped one.
 */
#include "engine/cli/ferry-cli.h"

#include <string.h>

/* Optimal string alignment distance (Levenshtein plus adjacent transpositions), bounded by the
 * words' short lengths (commands, options, host and guest names). */
guint
ferry_cli_edit_distance(const char *a, const char *b)
{
    gsize la = strlen(a), lb = strlen(b);
    g_autofree guint *d = NULL;
    guint result;

    if (la > 256 || lb > 256)
        return G_MAXUINT;
    d = g_new(guint, (la + 1) * (lb + 1));
#define D(i, j) d[(i) * (lb + 1) + (j)]
    for (gsize i = 0; i <= la; i++)
        D(i, 0) = (guint)i;
    for (gsize j = 0; j <= lb; j++)
        D(0, j) = (guint)j;
    for (gsize i = 1; i <= la; i++) {
        for (gsize j = 1; j <= lb; j++) {
            guint cost = a[i - 1] == b[j - 1] ? 0 : 1;
            guint v = MIN(MIN(D(i - 1, j) + 1, D(i, j - 1) + 1), D(i - 1, j - 1) + cost);

            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                v = MIN(v, D(i - 2, j - 2) + 1);
            D(i, j) = v;
        }
    }
    result = D(la, lb);
#undef D
    return result;
}

const char *
ferry_cli_suggest(const char *word, const char *const *candidates, gsize n)
{
    const char *best = NULL;
    guint best_d = G_MAXUINT;
    gboolean tie = FALSE;
    gsize len;
    guint limit;

    if (!word || !*word)
        return NULL;
    len = strlen(word);
    /* one typo in a short word, up to three in a long one */
    limit = CLAMP(len / 3, 1, 3);
    for (gsize i = 0; i < n; i++) {
        guint d;

        if (!candidates[i] || g_str_equal(candidates[i], word))
            continue;
        d = ferry_cli_edit_distance(word, candidates[i]);
        /* a prefix of a longer word (--band for --bandwidth) is as good as one typo */
        if (len >= 3 && g_str_has_prefix(candidates[i], word))
            d = MIN(d, 1);
        if (d < best_d) {
            best = candidates[i];
            best_d = d;
            tie = FALSE;
        } else if (d == best_d) {
            tie = TRUE;
        }
    }
    if (!best || best_d > limit || tie)
        return NULL;
    return best;
}
