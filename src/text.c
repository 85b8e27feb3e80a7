/* text.c: the growable string of the text formats and its escapes for Markdown, CSV and
 * HTML (text.h); pure text, below every writer. */
#include "text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void clr_text_printf(clr_text *t, const char *fmt, ...)
{
    if (t->failed)
        return;
    va_list ap;
    va_start(ap, fmt);
    va_list ap2;
    va_copy(ap2, ap);
    int need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (need < 0 || t->len + (size_t)need + 1 > t->cap) {
        size_t cap = (t->cap + (size_t)(need > 0 ? need : 0) + 1) * 2 + 256;
        char *grown = need < 0 ? NULL : realloc(t->buf, cap);
        if (!grown) {
            t->failed = 1;
            va_end(ap2);
            return;
        }
        t->buf = grown;
        t->cap = cap;
    }
    vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap2);
    va_end(ap2);
    t->len += (size_t)need;
}

void clr_text_append(clr_text *t, const char *bytes, size_t n)
{
    if (t->failed)
        return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = (t->cap + n + 1) * 2 + 256;
        char *grown = realloc(t->buf, cap);
        if (!grown) {
            t->failed = 1;
            return;
        }
        t->buf = grown;
        t->cap = cap;
    }
    memcpy(t->buf + t->len, bytes, n);
    t->len += n;
    t->buf[t->len] = '\0';
}

static int is_control(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

/* The length of the UTF-8 character at p when it is one that can mislead a reader without showing
 * itself: a C1 control (U+0080-009F, which terminals read as escape sequences) or a bidirectional
 * override or isolate (U+202A-202E, U+2066-2069, which reorder what follows); else 0. */
static size_t invisible(const unsigned char *p)
{
    if (p[0] == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F)
        return 2;
    if (p[0] == 0xE2 && p[1] == 0x80 && p[2] >= 0xAA && p[2] <= 0xAE)
        return 3;
    if (p[0] == 0xE2 && p[1] == 0x81 && p[2] >= 0xA6 && p[2] <= 0xA9)
        return 3;
    return 0;
}

void clr_text_md(clr_text *t, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; ++p) {
        const char *rep = NULL;
        size_t skip = invisible(p);
        if (skip) {
            clr_text_append(t, " ", 1);
            p += skip - 1;
            continue;
        }
        switch (*p) {
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '&': rep = "&amp;"; break;
        case '|': case '\\': case '`': case '*': case '_': case '[': case ']': case '~':
            clr_text_append(t, "\\", 1);
            break;
        default:
            if (is_control(*p))
                rep = " ";
        }
        if (rep)
            clr_text_append(t, rep, strlen(rep));
        else
            clr_text_append(t, (const char *)p, 1);
    }
}

void clr_text_md_code(clr_text *t, const char *s)
{
    size_t run = 0, longest = 0, len = strlen(s);
    for (size_t i = 0; i < len; ++i) {
        run = s[i] == '`' ? run + 1 : 0;
        longest = run > longest ? run : longest;
    }
    /* A space inside each fence where the text starts or ends with a backtick or is empty
     * (CommonMark strips one from each side). */
    int pad = len == 0 || s[0] == '`' || s[len - 1] == '`';
    for (size_t i = 0; i <= longest; ++i)
        clr_text_append(t, "`", 1);
    if (pad)
        clr_text_append(t, " ", 1);
    for (size_t i = 0; i < len; ++i)
        clr_text_append(t, is_control((unsigned char)s[i]) ? " " : s + i, 1);
    if (pad)
        clr_text_append(t, " ", 1);
    for (size_t i = 0; i <= longest; ++i)
        clr_text_append(t, "`", 1);
}

void clr_text_csv(clr_text *t, const char *s)
{
    clr_text_append(t, "\"", 1);
    if (s[0] && strchr("=+-@\t\r", s[0]))
        clr_text_append(t, "'", 1);
    for (const char *p = s; *p; ++p) {
        if (*p == '"')
            clr_text_append(t, "\"\"", 2);
        else
            clr_text_append(t, p, 1);
    }
    clr_text_append(t, "\"", 1);
}

void clr_text_html(clr_text *t, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; ++p) {
        const char *rep = NULL;
        size_t skip = invisible(p);
        if (skip) {
            clr_text_append(t, " ", 1);
            p += skip - 1;
            continue;
        }
        switch (*p) {
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '&': rep = "&amp;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        case '\t': case '\n': break;
        default:
            if (is_control(*p))
                rep = " ";
        }
        if (rep)
            clr_text_append(t, rep, strlen(rep));
        else
            clr_text_append(t, (const char *)p, 1);
    }
}

void clr_hex64(uint64_t v, char buf[17])
{
    snprintf(buf, 17, "%016llx", (unsigned long long)v);
}

void clr_text_md_cell(clr_text *t, const char *s)
{
    clr_text_append(t, " ", 1);
    clr_text_md(t, s);
    clr_text_append(t, " |", 2);
}

char *clr_text_take(clr_text *t, const char *what, clr_error *err)
{
    if (!t->failed)
        return t->buf;
    free(t->buf);
    t->buf = NULL;
    clr_fail(err, CLR_EFAIL, "out of host memory formatting %s", what);
    return NULL;
}
