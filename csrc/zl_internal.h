/* zl_internal.h - declarations shared by the C core's files; not installed. */
#ifndef ZL_INTERNAL_H
#define ZL_INTERNAL_H
#include "zoomlive.h"

/* zl_buf.c */
int zl_buf_reserve(zl_buf *b, size_t extra);            /* 0 or -1 (ENOMEM) */
int zl_buf_add(zl_buf *b, const void *p, size_t n);     /* 0 or -1 */
#define zl_buf_addlit(b, s) zl_buf_add((b), (s), sizeof(s) - 1)
void zl_buf_reset(zl_buf *b);                           /* len = 0, keeps memory */

/* zl_rand.c: a per-process CSPRNG-seeded generator for boundaries and jitter */
uint64_t zl_rand64(void);
double zl_rand_unit(void);                              /* [0, 1) */
void zl_rand_boundary(char *out, size_t n);             /* n chars of [0-9A-Za-z] */

/* header value check: 1 when s has no CR, LF or NUL in its first n bytes */
int zl_header_safe(const char *s, size_t n);
#endif
