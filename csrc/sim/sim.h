/* zoomlive-sim: a Zoom live-stream API simulator. Internal header shared by
 * the simulator's translation units; nothing here is a public API. */
#ifndef ZOOMLIVE_SIM_H
#define ZOOMLIVE_SIM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#define SIM_BODY_CAP (1024 * 1024 + 64 * 1024) /* request bodies above -> 413 */
#define SIM_LOG_CAP 10000                      /* request log entries kept */
#define SIM_LOG_VALUE_CAP 4096                 /* bytes of a body/value kept in the log */

#if defined(__GNUC__)
#  define SIM_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#  define SIM_PRINTF(f, a)
#endif

/* ---- configuration (sim_main.c) ---------------------------------------- */
typedef struct sim_config {
  /* fixed for the process lifetime */
  char bind[64];
  int port;
  bool verbose;
  const char *fixtures;
  bool any_meeting;
  const char *tls_cert, *tls_key;
  char api_url[256];
  const char **tokens;
  int ntokens;
  const char *client_id, *client_secret, *account_id;
  unsigned max_connections;    /* asked for (--max-connections) */
  unsigned connection_timeout; /* seconds of inactivity before a connection is closed */
  /* mutable through POST /_sim/config; restored by POST /_sim/reset */
  double qps;
  long daily;
  bool ratelimit_headers;
  double token_ttl;
  bool invalidate_old_tokens;
  double start_cooldown;
  bool json_only;             /* /v2 writes whose body is not a JSON object: 400/300 */
  char webhook_url[512];      /* POST live-stream events here; "" = none */
  char webhook_secret[256];   /* signs them (x-zm-signature) */
  double webhook_delay;       /* seconds of sim time between a start/stop and its event */
  int webhook_retries;        /* POSTs again after a failed delivery (Zoom retries; default 0) */
  double webhook_retry_delay; /* sim-clock seconds before each retry */
} sim_config;

extern sim_config sim_cfg;        /* live values (guarded by sim_mutex) */
extern sim_config sim_boot;       /* values from the command line */
extern pthread_mutex_t sim_mutex; /* the one lock around all shared state */
extern atomic_int sim_stopping;   /* set on SIGTERM/SIGINT */

void sim_lock(void);
void sim_unlock(void);
void sim_vlog(const char *fmt, ...) SIM_PRINTF(1, 2); /* stderr, --verbose only */

/* ---- clock (sim_clock.c): real time + an offset ------------------------- */
double sim_now(void); /* seconds since the epoch, sim time */
void sim_clock_advance(double seconds);
double sim_clock_offset(void);
void sim_clock_reset(void);
void sim_iso8601(double t, char out[32]); /* "2026-11-25T21:06:23Z", t rounded up */
uint64_t sim_random(void);                /* thread-safe PRNG */
void sim_random_seed(uint64_t seed);
void sim_random_hex(char *out, size_t nbytes); /* out gets 2*nbytes+1 chars */

/* ---- responses (sim_http.c) --------------------------------------------- */
#define SIM_RESP_MAXHDR 8
typedef struct sim_resp {
  unsigned status;
  char *body; /* malloc'd, may be NULL */
  size_t len;
  bool json;                /* Content-Type: application/json;charset=UTF-8 */
  const char *content_type; /* used when !json and body present */
  int nhdr;
  struct {
    char name[40];
    char value[160];
  } hdr[SIM_RESP_MAXHDR];
} sim_resp;

void sim_resp_json(sim_resp *r, unsigned status, cJSON *obj); /* takes obj */
void sim_resp_error(sim_resp *r, unsigned status, int code, const char *fmt, ...) SIM_PRINTF(4, 5);
void sim_resp_validation(sim_resp *r, cJSON *errors); /* 400/300 Validation Failed. */
void sim_resp_empty(sim_resp *r, unsigned status);
void sim_resp_header(sim_resp *r, const char *name, const char *value);

/* ---- requests (sim_http.c) ---------------------------------------------- */
typedef struct sim_part {
  char *name, *filename, *content_type;
  char *value;
  size_t len, cap;
} sim_part;

typedef enum {
  SIM_BODY_NONE,
  SIM_BODY_FORM,
  SIM_BODY_URLENC,
  SIM_BODY_JSON,
  SIM_BODY_OTHER
} sim_body_kind;

typedef struct sim_req {
  struct MHD_Connection *conn;
  char method[16];
  char *path;          /* decoded path, no query */
  cJSON *query;        /* object name -> value */
  cJSON *headers;      /* object, lower-case names, auth masked */
  char *authorization; /* raw Authorization header or NULL */
  char *content_type;  /* raw Content-Type or NULL */
  char tracking[80];
  uint64_t seq;
  double t_start;
  bool is_control;
  /* body */
  char *body;
  size_t body_len, body_cap, body_total;
  bool too_large;
  sim_body_kind kind;
  bool body_error; /* the form could not be parsed */
  char body_problem[160];
  struct MHD_PostProcessor *pp;
  sim_part *parts;
  size_t nparts, parts_cap;
  cJSON *json; /* parsed JSON body (object) */
  /* faults */
  struct sim_fault_hit *hit;
} sim_req;

const char *sim_req_query(const sim_req *q, const char *name);
const sim_part *sim_req_part(const sim_req *q, const char *name, int *count);

int sim_http_start(void); /* returns 0 on success */
void sim_http_stop(void);
int sim_http_port(void);
unsigned sim_http_max_connections(void); /* in force: --max-connections, fitted to RLIMIT_NOFILE */

/* ---- state (sim_state.c) ------------------------------------------------ */
typedef enum { SIM_MEETING = 0, SIM_WEBINAR = 1 } sim_kind;

typedef struct sim_entity {
  int64_t id;
  sim_kind kind;
  bool started;
  char host_id[64];
  bool host_exists, host_in_account, host_licensed;
  bool configured;
  char stream_url[1025], stream_key[513], page_url[1025], resolution[8];
  bool live;
  bool active_speaker_name;
  char display_name[256];
  char layout[16], close_caption[16];
  double last_start;     /* sim time of the last accepted start, <0 none */
  bool fails_to_go_live; /* start answers 204, but no started event follows */
  struct sim_entity *next;
} sim_entity;

int sim_state_load(const char *fixtures, char *err, size_t errlen); /* defaults + file */
sim_entity *sim_state_find(sim_kind kind, int64_t id);              /* NULL if absent; lock held */
sim_entity *sim_state_create(sim_kind kind, int64_t id);
bool sim_state_delete(sim_kind kind, int64_t id);
cJSON *sim_state_to_json(const sim_entity *e);
int sim_state_merge(sim_entity *e, const cJSON *obj, char *err, size_t errlen);
void sim_state_free(void);
const char *sim_kind_name(sim_kind k);          /* "meeting" / "webinar" */
bool sim_parse_id(const char *s, int64_t *out); /* digits only, <= INT64_MAX */

/* ---- routes (sim_routes.c): /v2 ---------------------------------------- */
void sim_routes_handle(sim_req *q, sim_resp *r);

/* ---- oauth (sim_oauth.c) ------------------------------------------------ */
void sim_oauth_token(sim_req *q, sim_resp *r);
bool sim_oauth_bearer_ok(const char *authorization); /* lock held */
void sim_oauth_reset(void);

/* ---- rate limits (sim_ratelimit.c) -------------------------------------- */
bool sim_ratelimit_take(sim_resp *r);                    /* false: r holds the 429 */
bool sim_ratelimit_start_ok(sim_entity *e, sim_resp *r); /* start cooldown */
void sim_ratelimit_reset(void);

/* ---- faults (sim_faults.c) ---------------------------------------------- */
typedef enum {
  SIM_FX_NONE = 0,
  SIM_FX_STATUS,
  SIM_FX_RESET_BEFORE,
  SIM_FX_RESET_AFTER,
  SIM_FX_HANG,
  SIM_FX_TRUNCATE,
  SIM_FX_MALFORMED,
  SIM_FX_HUGE
} sim_fx;
/* the name of an effect, as the log and /_sim/faults show it; NULL for none */
const char *sim_fx_name(sim_fx fx);

typedef struct sim_fault_hit {
  long latency_ms;
  sim_fx effect;
  unsigned status;
  size_t huge_body;
  bool apply; /* process the request normally, then misbehave */
  long fault_id;
} sim_fault_hit;

int sim_faults_add_json(const cJSON *obj, long *id, char *err, size_t errlen);
bool sim_faults_match(const char *method, const char *path, sim_fault_hit *hit);
cJSON *sim_faults_to_json(void);
bool sim_faults_delete(long id);
void sim_faults_clear(void);
int sim_faults_boot(const cJSON *fault_args, char *err, size_t errlen);
void sim_faults_restore_boot(void);
void sim_faults_free(void);

/* ---- request log (sim_log.c) -------------------------------------------- */
uint64_t sim_log_next_seq(void);
void sim_log_record(const sim_req *q, unsigned status, const char *fault);
cJSON *sim_log_to_json(uint64_t since);
void sim_log_clear(void);
void sim_log_free(void);

/* ---- webhooks (sim_webhook.c): signed live-stream events -------------- */
int sim_webhook_start(void); /* the delivery thread; 0 on success */
void sim_webhook_stop(void);
/* a start (started = true) or stop was accepted for e: queue its event, due
 * after the configured delay (lock held) */
void sim_webhook_stream_event(const sim_entity *e, bool started);
/* queue an endpoint.url_validation request; its answer is checked (lock held) */
int sim_webhook_validate(void);
void sim_webhook_wake(void);      /* the clock moved: look at due times again */
void sim_webhook_reset(void);     /* lock held: drop queued events and the log */
cJSON *sim_webhook_to_json(void); /* lock held: GET /_sim/webhooks */

/* ---- control API (sim_control.c): /_sim --------------------------------- */
void sim_control_handle(sim_req *q, sim_resp *r);
int sim_reset_all(char *err, size_t errlen);

#endif
