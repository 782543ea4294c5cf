/* The simulator's own control and inspection API under /_sim/ (never
 * Zoom's, no auth): request log, reset, faults, state, config, clock. */
#include "sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is(const sim_req *q, const char *method) { return strcmp(q->method, method) == 0; }

static void bad(sim_resp *r, const char *msg) { sim_resp_error(r, 400, 400, "%s", msg); }

int sim_reset_all(char *err, size_t errlen) {
  sim_lock();
  sim_cfg = sim_boot;
  int rc = sim_state_load(sim_boot.fixtures, err, errlen);
  sim_log_clear();
  sim_faults_restore_boot();
  sim_ratelimit_reset();
  sim_clock_reset();
  sim_oauth_reset();
  sim_webhook_reset();
  sim_unlock();
  return rc;
}

static cJSON *config_json(void) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "qps", sim_cfg.qps);
  cJSON_AddNumberToObject(o, "daily", (double)sim_cfg.daily);
  cJSON_AddBoolToObject(o, "ratelimit_headers", sim_cfg.ratelimit_headers);
  cJSON_AddNumberToObject(o, "token_ttl", sim_cfg.token_ttl);
  cJSON_AddBoolToObject(o, "invalidate_old_tokens", sim_cfg.invalidate_old_tokens);
  cJSON_AddNumberToObject(o, "start_cooldown", sim_cfg.start_cooldown);
  cJSON_AddBoolToObject(o, "any_meeting", sim_cfg.any_meeting);
  cJSON_AddBoolToObject(o, "json_only", sim_cfg.json_only);
  cJSON_AddStringToObject(o, "account_id", sim_cfg.account_id);
  cJSON_AddStringToObject(o, "api_url", sim_cfg.api_url);
  cJSON_AddStringToObject(o, "webhook_url", sim_cfg.webhook_url);
  cJSON_AddBoolToObject(o, "webhook_secret_set",
                        sim_cfg.webhook_secret[0] != 0); /* never the secret */
  cJSON_AddNumberToObject(o, "webhook_delay", sim_cfg.webhook_delay);
  cJSON_AddNumberToObject(o, "webhook_retries", sim_cfg.webhook_retries);
  cJSON_AddNumberToObject(o, "webhook_retry_delay", sim_cfg.webhook_retry_delay);
  return o;
}

static void post_config(const cJSON *b, sim_resp *r) {
  sim_config c = sim_cfg;
  const cJSON *it;
  cJSON_ArrayForEach(it, b) {
    const char *k = it->string;
    bool num = cJSON_IsNumber(it) && it->valuedouble >= 0;
    if (strcmp(k, "qps") == 0 && num)
      c.qps = it->valuedouble;
    else if (strcmp(k, "daily") == 0 && num)
      c.daily = (long)it->valuedouble;
    else if (strcmp(k, "token_ttl") == 0 && num)
      c.token_ttl = it->valuedouble;
    else if (strcmp(k, "start_cooldown") == 0 && num)
      c.start_cooldown = it->valuedouble;
    else if (strcmp(k, "ratelimit_headers") == 0 && cJSON_IsBool(it))
      c.ratelimit_headers = cJSON_IsTrue(it);
    else if (strcmp(k, "invalidate_old_tokens") == 0 && cJSON_IsBool(it))
      c.invalidate_old_tokens = cJSON_IsTrue(it);
    else if (strcmp(k, "any_meeting") == 0 && cJSON_IsBool(it))
      c.any_meeting = cJSON_IsTrue(it);
    else if (strcmp(k, "json_only") == 0 && cJSON_IsBool(it))
      c.json_only = cJSON_IsTrue(it);
    else if (strcmp(k, "webhook_delay") == 0 && num && it->valuedouble <= 86400)
      c.webhook_delay = it->valuedouble;
    else if (strcmp(k, "webhook_retries") == 0 && num && it->valuedouble <= 10 &&
             it->valuedouble == (int)it->valuedouble)
      c.webhook_retries = (int)it->valuedouble;
    else if (strcmp(k, "webhook_retry_delay") == 0 && num && it->valuedouble <= 86400)
      c.webhook_retry_delay = it->valuedouble;
    else if (strcmp(k, "webhook_url") == 0 && cJSON_IsString(it) &&
             strlen(it->valuestring) < sizeof c.webhook_url &&
             (!*it->valuestring || !strncmp(it->valuestring, "http://", 7) ||
              !strncmp(it->valuestring, "https://", 8)))
      snprintf(c.webhook_url, sizeof c.webhook_url, "%s", it->valuestring);
    else if (strcmp(k, "webhook_secret") == 0 && cJSON_IsString(it) && *it->valuestring &&
             strlen(it->valuestring) < sizeof c.webhook_secret)
      snprintf(c.webhook_secret, sizeof c.webhook_secret, "%s", it->valuestring);
    else {
      sim_resp_error(r, 400, 400, "config: unknown key or bad value for \"%.60s\"", k);
      return;
    }
  }
  if (c.webhook_url[0] && !c.webhook_secret[0]) {
    sim_resp_error(r, 400, 400, "config: webhook_url needs webhook_secret");
    return;
  }
  bool limits_changed = c.qps != sim_cfg.qps || c.daily != sim_cfg.daily;
  sim_cfg = c;
  if (limits_changed) sim_ratelimit_reset();
  sim_webhook_wake();
  sim_resp_json(r, 200, config_json());
}

static cJSON *clock_json(void) {
  cJSON *o = cJSON_CreateObject();
  double now = sim_now();
  char iso[32];
  sim_iso8601((double)(int64_t)now, iso);
  cJSON_AddNumberToObject(o, "now", now);
  cJSON_AddStringToObject(o, "now_iso", iso);
  cJSON_AddNumberToObject(o, "offset", sim_clock_offset());
  return o;
}

static void entity_route(sim_req *q, sim_resp *r, sim_kind kind, const char *idtext) {
  int64_t id;
  if (!sim_parse_id(idtext, &id)) {
    bad(r, "the id must be all digits and fit in int64");
    return;
  }
  if (is(q, "GET")) {
    sim_entity *e = sim_state_find(kind, id);
    if (e)
      sim_resp_json(r, 200, sim_state_to_json(e));
    else
      sim_resp_error(r, 404, 404, "No such %s.", sim_kind_name(kind));
  } else if (is(q, "PUT") || is(q, "PATCH")) {
    if (!cJSON_IsObject(q->json)) {
      bad(r, "send the state as a JSON object");
      return;
    }
    sim_entity *e = sim_state_create(kind, id);
    char err[160];
    if (!e)
      sim_resp_error(r, 500, 500, "Out of memory.");
    else if (sim_state_merge(e, q->json, err, sizeof err))
      bad(r, err);
    else
      sim_resp_json(r, 200, sim_state_to_json(e));
  } else if (is(q, "DELETE")) {
    if (sim_state_delete(kind, id))
      sim_resp_empty(r, 204);
    else
      sim_resp_error(r, 404, 404, "No such %s.", sim_kind_name(kind));
  } else {
    sim_resp_error(r, 405, 405, "Method not allowed.");
  }
}

static void faults_route(sim_req *q, sim_resp *r, const char *rest) {
  if (*rest == '/') {
    char *end;
    long id = strtol(rest + 1, &end, 10);
    if (!is(q, "DELETE") || *end || end == rest + 1) {
      sim_resp_error(r, 405, 405, "Use DELETE /_sim/faults/{id}.");
    } else if (sim_faults_delete(id)) {
      sim_resp_empty(r, 204);
    } else {
      sim_resp_error(r, 404, 404, "No such fault.");
    }
    return;
  }
  if (is(q, "GET")) {
    sim_resp_json(r, 200, sim_faults_to_json());
  } else if (is(q, "DELETE")) {
    sim_faults_clear();
    sim_resp_empty(r, 204);
  } else if (is(q, "POST")) {
    if (!cJSON_IsObject(q->json) && !cJSON_IsArray(q->json)) {
      bad(r, "send a fault object or an array of them");
      return;
    }
    cJSON *ids = cJSON_CreateArray();
    char err[200];
    const cJSON *one = q->json;
    bool arr = cJSON_IsArray(q->json);
    const cJSON *it = arr ? q->json->child : one;
    for (; it; it = arr ? it->next : NULL) {
      long id;
      if (sim_faults_add_json(it, &id, err, sizeof err)) {
        /* roll back the ones added by this request */
        const cJSON *d;
        cJSON_ArrayForEach(d, ids) sim_faults_delete((long)d->valuedouble);
        cJSON_Delete(ids);
        bad(r, err);
        return;
      }
      cJSON_AddItemToArray(ids, cJSON_CreateNumber((double)id));
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "ids", ids);
    sim_resp_json(r, 200, o);
  } else {
    sim_resp_error(r, 405, 405, "Method not allowed.");
  }
}

void sim_control_handle(sim_req *q, sim_resp *r) {
  const char *p = q->path + 5; /* after /_sim */
  if (q->body_len && !q->json) {
    bad(r, "the body is not valid JSON");
    return;
  }
  if (strcmp(p, "/health") == 0) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", "ok");
    cJSON_AddNumberToObject(o, "port", sim_http_port());
    cJSON_AddNumberToObject(o, "max_connections", sim_http_max_connections());
    cJSON_AddNumberToObject(o, "connection_timeout", sim_boot.connection_timeout);
    sim_resp_json(r, 200, o);
    return;
  }
  if (strcmp(p, "/reset") == 0) {
    char err[256];
    if (!is(q, "POST"))
      sim_resp_error(r, 405, 405, "Use POST /_sim/reset.");
    else if (sim_reset_all(err, sizeof err))
      sim_resp_error(r, 500, 500, "%s", err);
    else
      sim_resp_empty(r, 204);
    return;
  }
  sim_lock();
  if (strcmp(p, "/requests") == 0) {
    if (is(q, "GET")) {
      const char *since = sim_req_query(q, "since");
      sim_resp_json(r, 200, sim_log_to_json(since ? strtoull(since, NULL, 10) : 0));
    } else if (is(q, "DELETE")) {
      sim_log_clear();
      sim_resp_empty(r, 204);
    } else {
      sim_resp_error(r, 405, 405, "Use GET or DELETE /_sim/requests.");
    }
  } else if (strncmp(p, "/faults", 7) == 0 && (p[7] == '\0' || p[7] == '/')) {
    faults_route(q, r, p + 7);
  } else if (strncmp(p, "/meetings/", 10) == 0) {
    entity_route(q, r, SIM_MEETING, p + 10);
  } else if (strncmp(p, "/webinars/", 10) == 0) {
    entity_route(q, r, SIM_WEBINAR, p + 10);
  } else if (strcmp(p, "/config") == 0) {
    if (is(q, "GET"))
      sim_resp_json(r, 200, config_json());
    else if (is(q, "POST") && cJSON_IsObject(q->json))
      post_config(q->json, r);
    else
      bad(r, "GET /_sim/config, or POST a JSON object");
  } else if (strcmp(p, "/webhooks") == 0) {
    if (is(q, "GET"))
      sim_resp_json(r, 200, sim_webhook_to_json());
    else if (is(q, "DELETE")) {
      sim_webhook_reset();
      sim_resp_empty(r, 204);
    } else
      sim_resp_error(r, 405, 405, "Use GET or DELETE /_sim/webhooks.");
  } else if (strcmp(p, "/webhooks/validate") == 0) {
    if (!is(q, "POST"))
      sim_resp_error(r, 405, 405, "Use POST /_sim/webhooks/validate.");
    else if (sim_webhook_validate())
      bad(r, "no webhook_url configured");
    else
      sim_resp_json(r, 200, sim_webhook_to_json());
  } else if (strcmp(p, "/clock") == 0) {
    if (is(q, "GET")) {
      sim_resp_json(r, 200, clock_json());
    } else if (is(q, "POST") && cJSON_IsObject(q->json)) {
      const cJSON *adv = cJSON_GetObjectItemCaseSensitive(q->json, "advance");
      const cJSON *off = cJSON_GetObjectItemCaseSensitive(q->json, "offset");
      if (cJSON_IsNumber(adv))
        sim_clock_advance(adv->valuedouble);
      else if (cJSON_IsNumber(off))
        sim_clock_advance(off->valuedouble - sim_clock_offset());
      else {
        sim_unlock();
        bad(r, "POST {\"advance\": seconds} or {\"offset\": seconds}");
        return;
      }
      sim_webhook_wake();
      sim_resp_json(r, 200, clock_json());
    } else {
      bad(r, "GET /_sim/clock, or POST {\"advance\": seconds}");
    }
  } else {
    sim_resp_error(r, 404, 404, "No such control endpoint: %.200s", q->path);
  }
  sim_unlock();
}
