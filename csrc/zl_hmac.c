/* zl_hmac.c - HMAC-SHA256 and a constant-time comparison, from OpenSSL's
 * libcrypto (no hand-written cryptography), for verifying Zoom's webhook
 * signatures.  Pure C: nothing here knows Lua. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "zoomlive.h"

int zl_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                   unsigned char out[ZL_SHA256_LEN]) {
  static const unsigned char empty = 0;
  unsigned int n = 0;
  /* HMAC() takes an int key length; a NULL key/message means "empty" only
   * when paired with length 0, so hand it a real address in that case */
  if (key_len > 0x7fffffff) return -1;
  if (!key) {
    if (key_len) return -1;
    key = &empty;
  }
  if (!msg) {
    if (msg_len) return -1;
    msg = &empty;
  }
  if (!HMAC(EVP_sha256(), key, (int)key_len, msg, msg_len, out, &n) || n != ZL_SHA256_LEN)
    return -1;
  return 0;
}

int zl_hmac_sha256_hex(const void *key, size_t key_len, const void *msg, size_t msg_len,
                       char hex[2 * ZL_SHA256_LEN + 1]) {
  static const char digits[] = "0123456789abcdef";
  unsigned char mac[ZL_SHA256_LEN];
  if (zl_hmac_sha256(key, key_len, msg, msg_len, mac)) return -1;
  for (int i = 0; i < ZL_SHA256_LEN; i++) {
    hex[2 * i] = digits[mac[i] >> 4];
    hex[2 * i + 1] = digits[mac[i] & 15];
  }
  hex[2 * ZL_SHA256_LEN] = '\0';
  OPENSSL_cleanse(mac, sizeof mac);
  return 0;
}

int zl_equal_consttime(const void *a, size_t a_len, const void *b, size_t b_len) {
  /* the lengths are public (a signature's length is fixed by its format);
   * the contents are compared without an early exit */
  if (a_len != b_len) return 0;
  if (a_len == 0) return 1;
  return CRYPTO_memcmp(a, b, a_len) == 0;
}
