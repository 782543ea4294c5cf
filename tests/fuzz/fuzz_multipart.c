/* fuzz_multipart.c - libFuzzer target for zl_multipart_encode.
 *
 * The input is cut into fields: one byte holding the field count (mod 17),
 * then per field a 1-byte name length, the name, a 2-byte (little-endian)
 * value length and the value (lengths are clamped to what is left).
 * Names that RFC 7578 cannot carry (empty, CR, LF, NUL, '"') must be refused
 * with EINVAL; otherwise the body must decode, with an independent parser
 * written here, to exactly the same names and values, and the boundary must
 * occur in no name and no value. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "zl_internal.h"

#define MAXF 16

#define ASSERT(c)                                                                               \
  do {                                                                                          \
    if (!(c)) {                                                                                 \
      fprintf(stderr, "fuzz_multipart: %s:%d: assertion failed: %s\n", __FILE__, __LINE__, #c); \
      abort();                                                                                  \
    }                                                                                           \
  } while (0)

static const unsigned char *find(const unsigned char *h, size_t hn, const char *n, size_t nn) {
  if (nn == 0 || hn < nn) return NULL;
  for (size_t i = 0; i + nn <= hn; i++)
    if (h[i] == (unsigned char)n[0] && memcmp(h + i, n, nn) == 0) return h + i;
  return NULL;
}

/* RFC 7578 / RFC 2046 decoder: body = "--" B CRLF part (CRLF "--" B CRLF part)*
 * CRLF "--" B "--" [CRLF]; part = headers CRLF CRLF value.  Only the
 * Content-Disposition header is expected (the encoder writes nothing else).
 * Returns the number of parts, or -1 on a malformed body. */
static int decode(const unsigned char *b, size_t n, const char *bnd, zl_field *out, int max) {
  size_t bl = strlen(bnd);
  char delim[2 + 2 + ZL_BOUNDARY_LEN + 1];
  snprintf(delim, sizeof delim, "\r\n--%s", bnd);
  size_t dl = 4 + bl;
  /* the first delimiter needs no leading CRLF */
  if (n < 2 + bl || memcmp(b, "--", 2) != 0 || memcmp(b + 2, bnd, bl) != 0) return -1;
  size_t pos = 2 + bl;
  int k = 0;
  for (;;) {
    if (n - pos >= 2 && memcmp(b + pos, "--", 2) == 0) { /* close delimiter */
      pos += 2;
      if (pos == n) return k;
      if (n - pos == 2 && memcmp(b + pos, "\r\n", 2) == 0) return k;
      return -1; /* no epilogue expected */
    }
    if (n - pos < 2 || memcmp(b + pos, "\r\n", 2) != 0) return -1;
    pos += 2;
    const unsigned char *hend = find(b + pos, n - pos, "\r\n\r\n", 4);
    if (!hend) return -1;
    /* the header block: exactly one Content-Disposition line */
    const char *cd = "Content-Disposition: form-data; name=\"";
    size_t cdl = strlen(cd);
    size_t hlen = (size_t)(hend - (b + pos));
    if (hlen < cdl + 1 || memcmp(b + pos, cd, cdl) != 0 || b[pos + hlen - 1] != '"') return -1;
    if (k == max) return -1;
    out[k].name = (const char *)b + pos + cdl;
    out[k].name_len = hlen - cdl - 1;
    for (size_t i = 0; i < out[k].name_len; i++) /* a quoted-string with no escapes */
      if (out[k].name[i] == '"' || out[k].name[i] == '\r' || out[k].name[i] == '\n') return -1;
    pos += hlen + 4;
    const unsigned char *d = find(b + pos, n - pos, delim, dl);
    if (!d) return -1;
    out[k].value = (const char *)b + pos;
    out[k].value_len = (size_t)(d - (b + pos));
    k++;
    pos = (size_t)(d - b) + dl;
  }
}

static int name_refused(const zl_field *f) {
  if (f->name_len == 0) return 1;
  for (size_t i = 0; i < f->name_len; i++) {
    char c = f->name[i];
    if (c == '\r' || c == '\n' || c == '\0' || c == '"') return 1;
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static zl_buf out; /* reused across inputs, as the binding reuses its form buffer */
  zl_field f[MAXF];
  memset(f, 0, sizeof f);
  size_t n = 0, pos = 0;
  if (size == 0) return 0;
  size_t want = data[pos++] % (MAXF + 1);
  int refused = 0;
  while (n < want && pos < size) {
    size_t nl = data[pos++];
    if (nl > size - pos) nl = size - pos;
    f[n].name = (const char *)data + pos;
    f[n].name_len = nl;
    pos += nl;
    size_t vl = 0;
    if (pos < size) vl = data[pos++];
    if (pos < size) vl |= (size_t)data[pos++] << 8;
    if (vl > size - pos) vl = size - pos;
    f[n].value = vl ? (const char *)data + pos : "";
    f[n].value_len = vl;
    pos += vl;
    refused |= name_refused(&f[n]);
    n++;
  }
  char boundary[ZL_BOUNDARY_LEN + 1];
  memset(boundary, 'x', sizeof boundary);
  errno = 0;
  int rc = zl_multipart_encode(f, n, boundary, &out);
  if (refused) {
    ASSERT(rc == -1 && errno == EINVAL);
    return 0;
  }
  ASSERT(rc == 0);
  ASSERT(boundary[ZL_BOUNDARY_LEN] == '\0' && strlen(boundary) == ZL_BOUNDARY_LEN);
  for (size_t i = 0; i < ZL_BOUNDARY_LEN; i++) {
    char c = boundary[i];
    ASSERT((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
  }
  for (size_t i = 0; i < n; i++) {
    ASSERT(!find((const unsigned char *)f[i].value, f[i].value_len, boundary, ZL_BOUNDARY_LEN));
    ASSERT(!find((const unsigned char *)f[i].name, f[i].name_len, boundary, ZL_BOUNDARY_LEN));
  }
  ASSERT(out.data && out.len < out.cap && out.data[out.len] == '\0');
  zl_field got[MAXF];
  int k = decode((const unsigned char *)out.data, out.len, boundary, got, MAXF);
  ASSERT(k == (int)n);
  for (size_t i = 0; i < n; i++) {
    ASSERT(got[i].name_len == f[i].name_len && memcmp(got[i].name, f[i].name, f[i].name_len) == 0);
    ASSERT(got[i].value_len == f[i].value_len &&
           (f[i].value_len == 0 || memcmp(got[i].value, f[i].value, f[i].value_len) == 0));
  }
  return 0;
}
