/* The multipart encoder, judged by an independent decoder written here from
 * RFC 7578/2046: boundary absent from content, exact CRLFs, hostile values. */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "zoomlive.h"

/* Decodes body with boundary into up to max fields; returns the count or -1.
 * Each part must be exactly: headers CRLF CRLF value CRLF. */
typedef struct {
  char name[64];
  const char *value;
  size_t len;
} part;
static int decode(const char *body, size_t blen, const char *boundary, part *out, int max) {
  char delim[128];
  int dl = snprintf(delim, sizeof delim, "--%s", boundary);
  const char *p = body, *end = body + blen;
  if ((size_t)(end - p) < (size_t)dl || memcmp(p, delim, dl) != 0) return -1;
  int n = 0;
  for (;;) {
    p += dl;
    if (end - p >= 4 && memcmp(p, "--\r\n", 4) == 0 && p + 4 == end) return n;
    if (end - p < 2 || memcmp(p, "\r\n", 2) != 0) return -1;
    p += 2;
    const char *hend = memmem(p, end - p, "\r\n\r\n", 4);
    if (!hend || n >= max) return -1;
    const char *h = "Content-Disposition: form-data; name=\"";
    size_t hl = strlen(h);
    if ((size_t)(hend - p) < hl + 1 || memcmp(p, h, hl) != 0 || hend[-1] != '"') return -1;
    size_t nl = (size_t)(hend - 1 - (p + hl));
    if (nl >= sizeof out[n].name) return -1;
    memcpy(out[n].name, p + hl, nl);
    out[n].name[nl] = 0;
    const char *v = hend + 4;
    char crlfdelim[132];
    int cl = snprintf(crlfdelim, sizeof crlfdelim, "\r\n%s", delim);
    const char *next = memmem(v, end - v, crlfdelim, cl);
    if (!next) return -1;
    out[n].value = v;
    out[n].len = (size_t)(next - v);
    n++;
    p = next + 2;
  }
}

static zl_field F(const char *n, const char *v, size_t vl) {
  zl_field f = {n, strlen(n), v, vl};
  return f;
}

int main(void) {
  zl_buf out = {0};
  char b[ZL_BOUNDARY_LEN + 1];
  part parts[8];

  /* the seed's call, byte for byte */
  const char *settings = "{\"active_speaker_name\":false,\"display_name\":\"Town hall\"}";
  zl_field f[2] = {F("action", "start", 5), F("settings", settings, strlen(settings))};
  CHECK(zl_multipart_encode(f, 2, b, &out) == 0);
  CHECK(strlen(b) == ZL_BOUNDARY_LEN);
  char expect[1024];
  snprintf(expect, sizeof expect,
           "--%s\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\nstart\r\n"
           "--%s\r\nContent-Disposition: form-data; name=\"settings\"\r\n\r\n%s\r\n--%s--\r\n",
           b, b, settings, b);
  CHECK(out.len == strlen(expect) && memcmp(out.data, expect, out.len) == 0);
  CHECK(decode(out.data, out.len, b, parts, 8) == 2);
  CHECK(strcmp(parts[0].name, "action") == 0 && parts[0].len == 5);
  CHECK(parts[1].len == strlen(settings) && memcmp(parts[1].value, settings, parts[1].len) == 0);

  /* two calls use two different boundaries */
  char b2[ZL_BOUNDARY_LEN + 1];
  zl_buf out2 = {0};
  CHECK(zl_multipart_encode(f, 2, b2, &out2) == 0);
  CHECK(strcmp(b, b2) != 0);

  /* hostile values: CRLF, quotes, something that looks like a boundary */
  const char *evil =
    "a\r\n--zoomlive\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n\"q\"\r\n";
  zl_field g[3] = {F("a", evil, strlen(evil)), F("empty", "", 0), F("nul", "x\0y", 3)};
  CHECK(zl_multipart_encode(g, 3, b, &out) == 0);
  CHECK(memmem(evil, strlen(evil), b, strlen(b)) == NULL);
  CHECK(decode(out.data, out.len, b, parts, 8) == 3);
  CHECK(parts[0].len == strlen(evil) && memcmp(parts[0].value, evil, parts[0].len) == 0);
  CHECK(parts[1].len == 0);
  CHECK(parts[2].len == 3 && memcmp(parts[2].value, "x\0y", 3) == 0);

  /* 1 MiB of text, and a value holding many boundary-like prefixes */
  size_t big = 1024 * 1024;
  char *v = malloc(big);
  for (size_t i = 0; i < big; i++) v[i] = "zoomlive\r\n-\"abc"[i % 16];
  zl_field h[1] = {F("settings", v, big)};
  CHECK(zl_multipart_encode(h, 1, b, &out) == 0);
  CHECK(memmem(v, big, b, strlen(b)) == NULL);
  CHECK(decode(out.data, out.len, b, parts, 8) == 1);
  CHECK(parts[0].len == big && memcmp(parts[0].value, v, big) == 0);
  /* count occurrences of the boundary in the body: exactly one per part + close */
  size_t count = 0;
  for (const char *p = out.data; (p = memmem(p, out.len - (p - out.data), b, strlen(b))); p++)
    count++;
  CHECK(count == 2);
  free(v);

  /* names that would break the header are refused */
  zl_field bad1[1] = {F("a\"b", "x", 1)};
  zl_field bad2[1] = {F("a\r\nb", "x", 1)};
  zl_field bad3[1] = {F("", "x", 1)};
  CHECK(zl_multipart_encode(bad1, 1, b, &out) == -1);
  CHECK(zl_multipart_encode(bad2, 1, b, &out) == -1);
  CHECK(zl_multipart_encode(bad3, 1, b, &out) == -1);

  /* no fields: a valid empty multipart body */
  CHECK(zl_multipart_encode(NULL, 0, b, &out) == 0);
  CHECK(decode(out.data, out.len, b, parts, 8) == 0);

  zl_buf_free(&out);
  zl_buf_free(&out2);
  return DONE();
}
