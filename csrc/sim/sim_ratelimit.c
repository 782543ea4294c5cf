/* Zoom's per-account "Light" rate limits: a token bucket (QPS), a daily cap
 * per UTC day and the 30-second cooldown between starts of one stream.
 * Callers hold sim_mutex. */
#include "sim.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>

static double bucket_tokens = -1, bucket_last; /* tokens < 0: fill on first use */
static int64_t daily_day = -1;
static long daily_used;

void sim_ratelimit_reset(void) {
  bucket_tokens = -1;
  daily_day = -1;
  daily_used = 0;
}

static void too_many(sim_resp *r, const char *type, double limit, double remaining, double retry_at,
                     const char *message) {
  sim_resp_error(r, 429, 429, "%s", message);
  if (!sim_cfg.ratelimit_headers) return;
  char buf[64];
  sim_iso8601(retry_at, buf);
  sim_resp_header(r, "Retry-After", buf);
  sim_resp_header(r, "X-RateLimit-Category", "Light");
  sim_resp_header(r, "X-RateLimit-Type", type);
  snprintf(buf, sizeof buf, "%g", limit);
  sim_resp_header(r, "X-RateLimit-Limit", buf);
  snprintf(buf, sizeof buf, "%.0f", remaining < 0 ? 0 : floor(remaining));
  sim_resp_header(r, "X-RateLimit-Remaining", buf);
}

bool sim_ratelimit_take(sim_resp *r) {
  double now = sim_now();
  if (sim_cfg.daily > 0) {
    int64_t day = (int64_t)floor(now / 86400.0);
    if (day != daily_day) {
      daily_day = day;
      daily_used = 0;
    }
    if (daily_used >= sim_cfg.daily) {
      too_many(r, "Daily-limit", (double)sim_cfg.daily, 0, (double)(day + 1) * 86400.0,
               "You have reached the maximum daily rate limit for this API. "
               "Refer to the response header for details on when you can make another request.");
      return false;
    }
  }
  if (sim_cfg.qps > 0) {
    double capacity = fmax(1.0, sim_cfg.qps); /* a fractional rate still allows single requests */
    if (bucket_tokens < 0) {
      bucket_tokens = capacity;
      bucket_last = now;
    }
    double elapsed = now - bucket_last;
    if (elapsed > 0) {
      bucket_tokens = fmin(capacity, bucket_tokens + elapsed * sim_cfg.qps);
      bucket_last = now;
    }
    if (bucket_tokens < 1) {
      double at = now + (1 - bucket_tokens) / sim_cfg.qps;
      too_many(r, "QPS", sim_cfg.qps, bucket_tokens, at,
               "You have reached the maximum per-second rate limit for this API. "
               "Try again later.");
      return false;
    }
    bucket_tokens -= 1;
  }
  if (sim_cfg.daily > 0) daily_used++;
  return true;
}

bool sim_ratelimit_start_ok(sim_entity *e, sim_resp *r) {
  if (sim_cfg.start_cooldown <= 0 || e->last_start < 0) return true;
  double until = e->last_start + sim_cfg.start_cooldown;
  if (sim_now() >= until) return true;
  char msg[256];
  snprintf(msg, sizeof msg,
           "Too many requests submitted to start the live stream of this %s: %" PRId64
           ". If the live stream has not already started, retry making a new request after "
           "%.0f seconds.",
           sim_kind_name(e->kind), e->id, sim_cfg.start_cooldown);
  too_many(r, "QPS", 1, 0, until, msg);
  return false;
}
