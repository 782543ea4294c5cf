/*
 * zoomlive.h - the public C API of zoomlive, for hosts that embed it.
 *
 * A host that embeds Lua opens the binding with luaopen_zoomlive_core and
 * uses the Lua API.  A host that wants the C core alone (the request engine
 * and the multipart/form-data encoder) uses the zl_* functions below; they
 * need libcurl and nothing from Lua.
 *
 * Thread safety: one zl_conn belongs to one thread at a time.
 * Call curl_global_init() once before the first zl_conn_new() (the Lua
 * binding does this when it is loaded).
 */
#ifndef ZOOMLIVE_H
#define ZOOMLIVE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#  define ZOOMLIVE_API __declspec(dllexport)
#else
#  define ZOOMLIVE_API __attribute__((visibility("default")))
#endif

#define ZOOMLIVE_VERSION "0.1.0"

/* The Lua binding: package.preload or require "zoomlive.core" reaches it. */
struct lua_State;
ZOOMLIVE_API int luaopen_zoomlive_core(struct lua_State *L);

/* ---- Growable byte buffer ------------------------------------------------ */
typedef struct zl_buf {
  char *data;   /* NUL-terminated when len < cap */
  size_t len;
  size_t cap;
} zl_buf;

void zl_buf_free(zl_buf *b);

/* ---- multipart/form-data ------------------------------------------------- */
typedef struct zl_field {
  const char *name;  size_t name_len;   /* a form field name: no CR, LF, NUL or '"' */
  const char *value; size_t value_len;  /* any bytes */
} zl_field;

#define ZL_BOUNDARY_LEN 40  /* characters in a generated boundary */

/* Encodes fields as multipart/form-data text parts (RFC 7578) into out
 * (replacing its content), with a fresh random boundary that occurs in no
 * name or value.  boundary receives it, NUL-terminated.
 * Returns 0, or -1 on a bad name (EINVAL) or no memory (ENOMEM). */
int zl_multipart_encode(const zl_field *fields, size_t n,
                        char boundary[ZL_BOUNDARY_LEN + 1], zl_buf *out);

/* ---- Requests ------------------------------------------------------------ */
typedef enum zl_kind {
  ZL_OK = 0,         /* an HTTP status came back */
  ZL_TRANSPORT,      /* refused, DNS, TLS, reset, malformed reply */
  ZL_TIMEOUT,        /* the time bound ran out */
  ZL_ARGUMENT,       /* a request field was unusable (e.g. CR/LF in a header) */
  ZL_MEMORY          /* out of memory */
} zl_kind;

typedef struct zl_request {
  const char *method;        /* "GET", "PATCH", "POST", ... */
  const char *url;
  const char *token;         /* bearer token or NULL (no Authorization) */
  const char *basic;         /* "user:password" for HTTP Basic, or NULL */
  const char *content_type;  /* or NULL when there is no body */
  const char *body; size_t body_len;
  long timeout_ms;           /* whole transfer; 0 = the connection's default */
} zl_request;

#define ZL_HDR_MAX 128
typedef struct zl_response {
  long status;                      /* HTTP status, 0 when none came back */
  zl_kind kind;
  int curl_code;                    /* CURLcode when kind != ZL_OK */
  char message[256];                /* libcurl's explanation, or ours */
  char tracking_id[ZL_HDR_MAX];     /* x-zm-trackingid */
  char retry_after[ZL_HDR_MAX];     /* Retry-After, verbatim */
  char rl_category[ZL_HDR_MAX];     /* X-RateLimit-Category */
  char rl_type[ZL_HDR_MAX];         /* X-RateLimit-Type */
  char rl_limit[ZL_HDR_MAX];        /* X-RateLimit-Limit */
  char rl_remaining[ZL_HDR_MAX];    /* X-RateLimit-Remaining */
  char content_type[ZL_HDR_MAX];    /* Content-Type */
  char location[ZL_HDR_MAX];        /* Location (redirects are never followed) */
  char date[ZL_HDR_MAX];            /* Date: the server's clock (RFC 9110) */
  zl_buf body;                      /* capped at the connection's body cap */
  int body_truncated;               /* 1 when the cap cut the body */
  double elapsed;                   /* seconds spent in this request */
  int request_sent;                 /* 1 when request bytes left (libcurl's
                                       CURLINFO_REQUEST_SIZE > 0): a failure
                                       may then have reached the server */
} zl_response;

typedef struct zl_conn_options {
  long connect_timeout_ms;   /* default 10000 */
  long timeout_ms;           /* default 30000 */
  const char *user_agent;    /* default "zoomlive/<v> libcurl/<v>" */
  const char *cainfo;        /* CA bundle file, or NULL */
  const char *capath;        /* CA directory, or NULL */
  int insecure;              /* 1 turns TLS verification off: never by default */
  size_t max_body;           /* response body cap, default 65536 */
  int fresh_handles;         /* 1: a new easy handle for every transfer, the
                                connections kept in a share. With libcurl older
                                than 8.1.0 a reused handle meets a use-after-free
                                on a hostile reply (curl #11101); zoomlive asks
                                for this where replies are not authenticated
                                (insecure TLS, plain http to a remote host). */
} zl_conn_options;

typedef struct zl_conn zl_conn;

ZOOMLIVE_API zl_conn *zl_conn_new(const zl_conn_options *opts);  /* NULL: no memory */
ZOOMLIVE_API void zl_conn_free(zl_conn *c);                       /* NULL is fine */
/* Performs one request and fills resp (which the caller zero-initialises
 * once and may reuse; free its body with zl_buf_free).  Returns resp->kind. */
ZOOMLIVE_API zl_kind zl_conn_perform(zl_conn *c, const zl_request *req, zl_response *resp);
/* The libcurl easy handle, for a host's multi interface.  zl_conn_prepare
 * sets it up for req; after the transfer ends, zl_conn_finish fills resp. */
ZOOMLIVE_API void *zl_conn_easy(zl_conn *c);
ZOOMLIVE_API zl_kind zl_conn_prepare(zl_conn *c, const zl_request *req, zl_response *resp);
ZOOMLIVE_API zl_kind zl_conn_finish(zl_conn *c, int curl_code, zl_response *resp);

/* ---- Timing of retries --------------------------------------------------- */
/* Parses a Retry-After value in any of its forms: delta-seconds, an HTTP-date
 * ("Wed, 21 Oct 2015 07:28:00 GMT") or Zoom's ISO-8601 date-time
 * ("2020-05-31T00:00:00Z", offsets and fractions allowed).  now is the
 * current Unix time.  Returns the seconds to wait (0 when the date is past),
 * or -1 when the value is not understood. */
ZOOMLIVE_API double zl_retry_after_seconds(const char *value, double now);
/* Exponential backoff with full jitter: a uniform draw in
 * [0, min(cap, base * 2^attempt)].  attempt counts from 0. */
ZOOMLIVE_API double zl_backoff(int attempt, double base, double cap);
/* Monotonic seconds, and a sleep that resumes after signals. */
ZOOMLIVE_API double zl_monotonic(void);
ZOOMLIVE_API void zl_sleep(double seconds);

/* ---- Webhook signatures (zl_hmac.c, OpenSSL's libcrypto) ----------------- */
#define ZL_SHA256_LEN 32
/* HMAC-SHA256 of msg under key into out.  Returns 0, or -1 on failure. */
ZOOMLIVE_API int zl_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                                unsigned char out[ZL_SHA256_LEN]);
/* The same as 64 lower-case hex digits and a NUL. */
ZOOMLIVE_API int zl_hmac_sha256_hex(const void *key, size_t key_len, const void *msg,
                                    size_t msg_len, char hex[2 * ZL_SHA256_LEN + 1]);
/* 1 when a and b hold the same bytes, 0 otherwise; the time taken depends on
 * the lengths only, never on where the contents differ (CRYPTO_memcmp). */
ZOOMLIVE_API int zl_equal_consttime(const void *a, size_t a_len, const void *b, size_t b_len);
/* Parses a date-time in ISO-8601 ("2026-11-30T01:02:03Z", offsets and
 * fractions allowed) or HTTP-date form into Unix seconds.  0, or -1. */
ZOOMLIVE_API int zl_parse_date(const char *value, double *out);

#ifdef __cplusplus
}
#endif
#endif
