/*
 * zoomlive.h - the public C API of zoomlive, for hosts that embed it.
 *
 * A host that embeds Lua links libzoomlive (pkg-config zoomlive) and calls
 * zoomlive_preload(L): `require "zoomlive"` then works with no file on disk.  A host that wants the C core alone (the request engine
 * and the multipart/form-data encoder) uses the zl_* functions below; they
 * need libcurl and nothing from Lua.
 *
 * Threads: one zl_conn, zl_driver or lua_State belongs to one thread at a
 * time; different ones may run in different threads at once.  Loading the
 * binding from several threads at once is safe (libcurl's global init runs
 * once, under pthread_once).  A C host that uses zl_* without the binding
 * calls curl_global_init() once before its first zl_conn_new() or
 * zl_driver_new().
 *
 * fork(): a child that goes on using a zl_conn or zl_driver made before the
 * fork never shares its parent's connections: the first call in the child
 * cuts the inherited sockets off (without a word to the peer) and starts
 * afresh; random numbers (multipart boundaries, jitter) are reseeded.
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

/* The version, from the file VERSION: every build passes it as
 * -DZOOMLIVE_VERSION="x.y.z" (CMake, the rockspec), and the installed copy
 * of this header has it written in. */
#ifndef ZOOMLIVE_VERSION
#  define ZOOMLIVE_VERSION "@PROJECT_VERSION@"
#endif

/* The Lua binding: package.preload or require "zoomlive.core" reaches it. */
struct lua_State;
ZOOMLIVE_API int luaopen_zoomlive_core(struct lua_State *L);
/* libzoomlive only: puts the whole module - zoomlive, every zoomlive.* Lua
 * module (bundled into the library) and zoomlive.core - into L's
 * package.preload, replacing entries of those names, so `require "zoomlive"`
 * needs no file at run time (lua-cjson is still required from the host's
 * package.cpath).  Call it once per lua_State, after luaL_openlibs.
 * Returns LUA_OK (0), or a Lua error status with the message pushed on L.
 * The host's own Lua is the only Lua core: libzoomlive contains none. */
ZOOMLIVE_API int zoomlive_preload(struct lua_State *L);

/* ---- Growable byte buffer ------------------------------------------------ */
typedef struct zl_buf {
  char *data; /* NUL-terminated when len < cap */
  size_t len;
  size_t cap;
} zl_buf;

ZOOMLIVE_API void zl_buf_free(zl_buf *b); /* NULL is fine */

/* ---- multipart/form-data ------------------------------------------------- */
typedef struct zl_field {
  const char *name;
  size_t name_len; /* a form field name: no CR, LF, NUL or '"' */
  const char *value;
  size_t value_len; /* any bytes */
} zl_field;

/* characters in a generated boundary: "zoomlive" and 16 random ones (95
 * bits; the encoder also checks that it occurs in no field).  Every header
 * byte costs libcurl about 55 instructions per request: 40 cost 2,200 more. */
#define ZL_BOUNDARY_LEN 24

/* Encodes fields as multipart/form-data text parts (RFC 7578) into out
 * (replacing its content), with a fresh random boundary that occurs in no
 * name or value.  boundary receives it, NUL-terminated.
 * Returns 0, or -1 on a bad name (EINVAL) or no memory (ENOMEM). */
ZOOMLIVE_API int zl_multipart_encode(const zl_field *fields, size_t n,
                                     char boundary[ZL_BOUNDARY_LEN + 1], zl_buf *out);

/* ---- Requests ------------------------------------------------------------ */
typedef enum zl_kind {
  ZL_OK = 0,    /* an HTTP status came back */
  ZL_TRANSPORT, /* refused, DNS, TLS, reset, malformed reply */
  ZL_TIMEOUT,   /* the time bound ran out */
  ZL_ARGUMENT,  /* a request field was unusable (e.g. CR/LF in a header) */
  ZL_MEMORY,    /* out of memory */
  ZL_CANCELLED  /* zl_abort_all: refused before sending, or aborted in flight */
} zl_kind;

typedef struct zl_request {
  const char *method; /* "GET", "PATCH", "POST", ... */
  const char *url;
  const char *token;        /* bearer token or NULL (no Authorization) */
  const char *basic;        /* "user:password" for HTTP Basic, or NULL */
  const char *content_type; /* or NULL when there is no body */
  const char *body;
  size_t body_len;
  long timeout_ms; /* whole transfer; 0 = the connection's default */
  /* zl_driver_submit only: 0, or the request ends (ZL_TIMEOUT) this many ms
   * after its submit, waiting for a free connection or running: a caller's
   * deadline that counts the time queued behind the driver's concurrency */
  long deadline_ms;
} zl_request;

#define ZL_HDR_MAX 128
typedef struct zl_response {
  long status; /* HTTP status, 0 when none came back */
  zl_kind kind;
  int curl_code;                 /* CURLcode when kind != ZL_OK */
  char message[256];             /* libcurl's explanation, or ours */
  char tracking_id[ZL_HDR_MAX];  /* x-zm-trackingid */
  char retry_after[ZL_HDR_MAX];  /* Retry-After, verbatim */
  char rl_category[ZL_HDR_MAX];  /* X-RateLimit-Category */
  char rl_type[ZL_HDR_MAX];      /* X-RateLimit-Type */
  char rl_limit[ZL_HDR_MAX];     /* X-RateLimit-Limit */
  char rl_remaining[ZL_HDR_MAX]; /* X-RateLimit-Remaining */
  char content_type[ZL_HDR_MAX]; /* Content-Type */
  char location[ZL_HDR_MAX];     /* Location (redirects are never followed) */
  char date[ZL_HDR_MAX];         /* Date: the server's clock (RFC 9110) */
  zl_buf body;                   /* capped at the connection's body cap */
  int body_truncated;            /* 1 when the cap cut the body */
  double elapsed;                /* seconds spent in this request */
  int sends;                     /* times the request was sent: libcurl sends
                                       it again, once, on a fresh connection when
                                       a reused one turns out dead; 2 means the
                                       first may have reached the server */
  int request_sent;              /* 1 when request bytes left (libcurl's
                                       CURLINFO_REQUEST_SIZE > 0): a failure
                                       may then have reached the server */
  int queued;                    /* 1: it ended while waiting for a free
                                       connection (zl_driver): never started */
} zl_response;

/* Hosts that never go through a proxy (libcurl CURLOPT_NOPROXY syntax):
 * loopback.  Every connection adds them to the environment's no_proxy. */
#define ZL_USER_AGENT_MAX 500
#define ZL_LOOPBACK_NOPROXY "localhost,127.0.0.0/8,::1"

typedef struct zl_conn_options {
  long connect_timeout_ms; /* default 10000 */
  long timeout_ms;         /* default 30000 */
  const char *user_agent;  /* default "zoomlive/<v> libcurl/<v>"; at most
                                ZL_USER_AGENT_MAX bytes (longer: zl_conn_new fails) */
  const char *cainfo;      /* CA bundle file, or NULL */
  const char *capath;      /* CA directory, or NULL */
  int insecure;            /* 1 turns TLS verification off: never by default */
  size_t max_body;         /* response body cap, default 65536 */
  int fresh_handles;       /* 1: a new easy handle for every transfer, the
                                connections kept in a share. With libcurl older
                                than 8.1.0 a reused handle meets a use-after-free
                                on a hostile reply (curl #11101); zoomlive asks
                                for this where replies are not authenticated
                                (insecure TLS, plain http to a remote host). */
} zl_conn_options;

typedef struct zl_conn zl_conn;

ZOOMLIVE_API zl_conn *zl_conn_new(const zl_conn_options *opts); /* NULL: no memory */
ZOOMLIVE_API void zl_conn_free(zl_conn *c);                     /* NULL is fine */
/* Performs one request and fills resp (which the caller zero-initialises
 * once and may reuse; free its body with zl_buf_free).  Returns resp->kind. */
ZOOMLIVE_API zl_kind zl_conn_perform(zl_conn *c, const zl_request *req, zl_response *resp);
/* After zl_conn_perform a connection object stays in a process-wide pool of
 * at most ZL_IDLE_MAX objects that keep their connection open for the next
 * request; past the cap, the one idle longest closes its connection (its
 * easy handle is replaced: do not keep zl_conn_easy's result across
 * zl_conn_perform calls).  zl_idle_count() is the pool's size. */
#define ZL_IDLE_MAX 16
ZOOMLIVE_API int zl_idle_count(void);
/* The libcurl easy handle, for a host's multi interface.  zl_conn_prepare
 * sets it up for req; after the transfer ends, zl_conn_finish fills resp. */
ZOOMLIVE_API void *zl_conn_easy(zl_conn *c);
ZOOMLIVE_API zl_kind zl_conn_prepare(zl_conn *c, const zl_request *req, zl_response *resp);
ZOOMLIVE_API zl_kind zl_conn_finish(zl_conn *c, int curl_code, zl_response *resp);

/* ---- A driver that never blocks: curl's multi_socket interface ----------
 * The host owns the event loop.  The driver tells it which sockets to watch
 * and for what (zl_driver_changes), and when its timer is next due
 * (zl_driver_timeout_ms); the host hands back readiness events
 * (zl_driver_socket_action) and timer expiries (zl_driver_timeout_action),
 * and takes the finished transfers (zl_driver_take), each with the id it
 * chose at zl_driver_submit.  No call blocks; none calls back into the host.
 *
 *   after EVERY driver call (submit, cancel, an action): drain the changes,
 *   apply them to the loop, re-arm the timer from zl_driver_timeout_ms, and
 *   take the finished transfers.
 *
 * A socket the host was told to watch is not closed before the host has
 * drained its ZL_WATCH_REMOVE: its number cannot come back as another socket
 * while the host still watches it.  One driver belongs to one thread at a
 * time.  After fork(), the first call in the child drops every connection
 * inherited from the parent (its transfers end as transport failures) and
 * starts afresh. */
typedef struct zl_driver zl_driver;

typedef struct zl_driver_options {
  int concurrency;      /* transfers running at once, 1..1024 (0: 8); the
                                others wait, in submission order */
  zl_conn_options conn; /* for every transfer's connection */
} zl_driver_options;

#define ZL_WATCH_IN 1     /* watch the socket for reading */
#define ZL_WATCH_OUT 2    /* ... for writing (IN|OUT: both) */
#define ZL_WATCH_REMOVE 4 /* stop watching it */
typedef struct zl_watch {
  int fd;
  int what;
} zl_watch;

#define ZL_EV_IN 1  /* readable (or hung up) */
#define ZL_EV_OUT 2 /* writable */
#define ZL_EV_ERR 4 /* an error condition on the socket */

/* NULL: no memory, or concurrency out of range (errno EINVAL). The strings
 * in o->conn are copied. */
ZOOMLIVE_API zl_driver *zl_driver_new(const zl_driver_options *o);
/* Ends every transfer and frees everything; NULL is fine. */
ZOOMLIVE_API void zl_driver_free(zl_driver *d);
/* Queues a request (every string and the body are copied).  id is the
 * caller's, unique among the transfers not yet taken.  A request the engine
 * refuses (e.g. CR/LF in a header) is not an error here: it finishes at once
 * with kind ZL_ARGUMENT.  Returns 0, or -1 with errno EEXIST (id in use),
 * ENOMEM or EINVAL (q or its method/url missing). */
ZOOMLIVE_API int zl_driver_submit(zl_driver *d, const zl_request *q, uint64_t id);
/* Ends transfer id wherever it is (waiting, running, finished but not
 * taken); it is never reported.  Returns 1 when request bytes may already
 * have left (a connection was ready to send), 0 when surely not, -1 when
 * there is no such transfer (errno ENOENT). */
ZOOMLIVE_API int zl_driver_cancel(zl_driver *d, uint64_t id);
/* 1 when transfer id still waits for a free connection (it has not started),
 * 0 when it has started or finished, -1 when there is no such transfer. */
ZOOMLIVE_API int zl_driver_waiting(zl_driver *d, uint64_t id);
/* fd is ready for ev (ZL_EV_* bits).  Returns 0, or -1 on a libcurl multi
 * error (the message in zl_driver_error). */
ZOOMLIVE_API int zl_driver_socket_action(zl_driver *d, int fd, int ev);
/* The timer is due. Returns 0 or -1 like zl_driver_socket_action. */
ZOOMLIVE_API int zl_driver_timeout_action(zl_driver *d);
/* Moves up to max pending socket-watch changes into out, oldest first;
 * returns how many.  Apply them in order.  With max 0 (out may be NULL)
 * it only counts the pending changes. */
ZOOMLIVE_API size_t zl_driver_changes(zl_driver *d, zl_watch *out, size_t max);
/* Milliseconds until the timer is due: -1 none, 0 due now. */
ZOOMLIVE_API long zl_driver_timeout_ms(zl_driver *d);
/* The oldest finished transfer: its id, whether request bytes may have left
 * (*sent, may be NULL) and its response, moved into *resp (whose old body
 * is freed first: zero-initialise it once; free it with zl_buf_free).
 * Returns 1, or 0 when none is finished. */
ZOOMLIVE_API int zl_driver_take(zl_driver *d, uint64_t *id, zl_response *resp, int *sent);
/* Transfers waiting for a slot, running, and finished but not taken. */
ZOOMLIVE_API void zl_driver_counts(zl_driver *d, size_t *waiting, size_t *running, size_t *done);
/* The last libcurl multi error, or "". */
ZOOMLIVE_API const char *zl_driver_error(zl_driver *d);

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
