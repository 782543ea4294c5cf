/* zl_buf.c - the growable byte buffer behind request and response bodies. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "zl_internal.h"

int zl_buf_reserve(zl_buf *b, size_t extra) {
  if (b->cap - b->len > extra) return 0; /* keep room for a NUL */
  if (extra > ((size_t)-1) / 2 - b->len) {
    errno = ENOMEM;
    return -1;
  }
  size_t need = b->len + extra + 1;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < need) cap *= 2;
  char *p = realloc(b->data, cap);
  if (!p) {
    errno = ENOMEM;
    return -1;
  }
  b->data = p;
  b->cap = cap;
  return 0;
}

int zl_buf_add(zl_buf *b, const void *p, size_t n) {
  if (zl_buf_reserve(b, n) != 0) return -1;
  if (n) memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
  return 0;
}

void zl_buf_reset(zl_buf *b) {
  b->len = 0;
  if (b->data) b->data[0] = '\0';
}

void zl_buf_free(zl_buf *b) {
  if (!b) return;
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

int zl_header_safe(const char *s, size_t n) {
  return !memchr(s, '\r', n) && !memchr(s, '\n', n) && !memchr(s, '\0', n);
}
