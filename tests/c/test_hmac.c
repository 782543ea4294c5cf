/* HMAC-SHA256 against RFC 4231's test vectors, the constant-time compare,
 * and the date parser webhook events use. */
#include <math.h>
#include <string.h>
#include "check.h"
#include "zoomlive.h"

static int hex_is(const char *key, size_t klen, const char *msg, size_t mlen, const char *want) {
  char hex[2 * ZL_SHA256_LEN + 1];
  if (zl_hmac_sha256_hex(key, klen, msg, mlen, hex)) return 0;
  return strcmp(hex, want) == 0;
}

int main(void) {
  char k1[20];
  memset(k1, 0x0b, sizeof k1);
  /* RFC 4231 test cases 1, 2 and 6 (a key longer than the block) */
  CHECK(hex_is(k1, 20, "Hi There", 8,
               "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"));
  CHECK(hex_is("Jefe", 4, "what do ya want for nothing?", 28,
               "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"));
  char k6[131];
  memset(k6, 0xaa, sizeof k6);
  const char *m6 = "Test Using Larger Than Block-Size Key - Hash Key First";
  CHECK(hex_is(k6, sizeof k6, m6, strlen(m6),
               "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"));
  /* empty key and message, given as NULL with length 0 */
  CHECK(
    hex_is(NULL, 0, NULL, 0, "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad"));
  /* bytes after a NUL count */
  CHECK(
    !hex_is("k", 1, "a\0b", 3, "0000000000000000000000000000000000000000000000000000000000000000"));
  char a[2 * ZL_SHA256_LEN + 1], b[2 * ZL_SHA256_LEN + 1];
  CHECK(zl_hmac_sha256_hex("k", 1, "a\0b", 3, a) == 0);
  CHECK(zl_hmac_sha256_hex("k", 1, "a\0c", 3, b) == 0);
  CHECK(strcmp(a, b) != 0);
  CHECK(zl_hmac_sha256_hex(NULL, 3, "x", 1, a) == -1);

  CHECK(zl_equal_consttime("abc", 3, "abc", 3) == 1);
  CHECK(zl_equal_consttime("abc", 3, "abd", 3) == 0);
  CHECK(zl_equal_consttime("abc", 3, "abcd", 4) == 0);
  CHECK(zl_equal_consttime("", 0, "", 0) == 1);
  CHECK(zl_equal_consttime("a\0b", 3, "a\0c", 3) == 0);

  double t;
  CHECK(zl_parse_date("2020-05-31T00:00:00Z", &t) == 0 && t == 1590883200.0);
  CHECK(zl_parse_date("2020-05-31T02:00:00.5+02:00", &t) == 0 && fabs(t - 1590883200.5) < 1e-6);
  CHECK(zl_parse_date("Sun, 31 May 2020 00:00:00 GMT", &t) == 0 && t == 1590883200.0);
  CHECK(zl_parse_date("soon", &t) == -1);
  CHECK(zl_parse_date("", &t) == -1);
  CHECK(zl_parse_date(NULL, &t) == -1);
  return DONE();
}
