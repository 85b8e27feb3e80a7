/* text.h: a growable string and the escapes that put foreign text safely into Markdown, CSV
 * and HTML; pure text (util.h and libc only). Used by the results writers (src/output/), by
 * the reader side (results.c, compare.c, report_html.c) and by the demo. */
#ifndef CLREPRO_TEXT_H
#define CLREPRO_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include "util.h"

/* A growable string for the text formats; failed is set (and the text stops growing) when
 * memory runs out. */
typedef struct clr_text {
    char *buf;
    size_t len, cap;
    int failed;
} clr_text;
void clr_text_printf(clr_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void clr_text_append(clr_text *t, const char *bytes, size_t n);

/* One escape per output context. Every string that did not come from this program's own
 * tables (device and driver strings, names, paths, command lines, anything read from a results
 * document) goes through the one for where it lands:
 *   clr_text_md       Markdown text, safe in a table cell: control characters (newlines, ANSI
 *                     escapes, C1 controls) and bidirectional overrides and isolates (which
 *                     reorder what follows) become spaces, | \ ` * _ [ ] ~ are backslash-escaped and < > &
 *                     written as entities, so no cell can split, no row can end, and no HTML
 *                     tag, link or emphasis can form.
 *   clr_text_md_code  a Markdown code span outside tables (fenced by more backticks than the
 *                     text holds; control characters become spaces).
 *   clr_text_csv      one CSV field, always quoted, inner quotes doubled (RFC 4180); a field
 *                     starting with = + - @ or a tab or carriage return is prefixed with ' so
 *                     that no spreadsheet reads it as a formula.
 *   clr_text_html     HTML text or a quoted attribute value (either quote): & < > " ' as
 *                     entities, control characters other than tab and newline, C1 controls and
 *                     bidirectional overrides and isolates as spaces. */
void clr_text_md(clr_text *t, const char *s);
void clr_text_md_code(clr_text *t, const char *s);
void clr_text_csv(clr_text *t, const char *s);
void clr_text_html(clr_text *t, const char *s);
/* " text |": s as one Markdown table cell, after the row's "|" (clr_text_md). */
void clr_text_md_cell(clr_text *t, const char *s);
/* The text's buffer, now the caller's; NULL (the buffer freed, err saying what could not be
 * formatted) when memory ran out while it grew. */
char *clr_text_take(clr_text *t, const char *what, clr_error *err);

/* v as 16 lower-case hex digits (fingerprints and hashes). */
void clr_hex64(uint64_t v, char buf[17]);

#endif
