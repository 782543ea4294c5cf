/* Zoom's live-stream routes under /v2: livestream status (start, stop,
 * mode), the stream configuration (GET/PATCH .../livestream) and the join
 * token for live streaming (GET .../jointoken/live_streaming). */
#include "sim.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void add_err(cJSON *errors, const char *field, const char *message) {
  cJSON *e = cJSON_CreateObject();
  cJSON_AddStringToObject(e, "field", field);
  cJSON_AddStringToObject(e, "message", message);
  cJSON_AddItemToArray(errors, e);
}

/* Number of code points of a valid UTF-8 string, -1 if invalid. */
static long utf8_chars(const char *s) {
  const unsigned char *u = (const unsigned char *)s;
  long n = 0;
  while (*u) {
    unsigned c = *u;
    size_t len = c < 0x80             ? 1
                 : (c & 0xe0) == 0xc0 ? 2
                 : (c & 0xf0) == 0xe0 ? 3
                 : (c & 0xf8) == 0xf0 ? 4
                                      : 0;
    if (len == 0 || (len == 2 && c < 0xc2) || (len == 4 && c > 0xf4)) return -1;
    uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1f) : len == 3 ? (c & 0x0f) : (c & 0x07);
    for (size_t k = 1; k < len; k++) {
      if ((u[k] & 0xc0) != 0x80) return -1;
      cp = (cp << 6) | (u[k] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
      return -1;
    u += len;
    n++;
  }
  return n;
}

static bool one_of(const char *v, const char *const *set) {
  for (; *set; set++)
    if (strcmp(v, *set) == 0) return true;
  return false;
}

static const char *const LAYOUTS[] = {"follow_host", "gallery_view", "speaker_view", NULL};
static const char *const CAPTIONS[] = {"burnt-in", "embedded", "off", NULL};

/* Validate a settings object for kind/action; errors appended. */
static void check_settings(sim_kind kind, const char *action, const cJSON *set, cJSON *errors) {
  const cJSON *it;
  cJSON_ArrayForEach(it, set) {
    const char *k = it->string;
    char field[96];
    snprintf(field, sizeof field, "settings.%.80s", k);
    bool mode_key = strcmp(k, "layout") == 0 || strcmp(k, "close_caption") == 0;
    if (strcmp(k, "active_speaker_name") == 0) {
      if (!cJSON_IsBool(it)) add_err(errors, field, "active_speaker_name must be a boolean.");
    } else if (strcmp(k, "display_name") == 0) {
      long n = cJSON_IsString(it) ? utf8_chars(it->valuestring) : -2;
      if (n == -2)
        add_err(errors, field, "display_name must be a string.");
      else if (n < 0)
        add_err(errors, field, "display_name must be valid UTF-8.");
      else if (n < 1 || n > 50)
        add_err(errors, field, "display_name must be 1 to 50 characters long.");
    } else if (strcmp(k, "layout") == 0 && kind == SIM_MEETING) {
      if (!cJSON_IsString(it) || !one_of(it->valuestring, LAYOUTS))
        add_err(errors, field, "layout must be one of follow_host, gallery_view, speaker_view.");
    } else if (strcmp(k, "close_caption") == 0) {
      if (!cJSON_IsString(it) || !one_of(it->valuestring, CAPTIONS))
        add_err(errors, field, "close_caption must be one of burnt-in, embedded, off.");
    } else {
      add_err(errors, field, "Unknown setting.");
      continue;
    }
    if (action && strcmp(action, "mode") == 0 && !mode_key)
      add_err(errors, field, "Only layout and close_caption can be changed with action mode.");
  }
  if (action && strcmp(action, "mode") == 0 && (!set || !cJSON_GetArraySize(set)))
    add_err(errors, "settings", "action mode needs settings with layout or close_caption.");
}

static void apply_settings(sim_entity *e, const cJSON *set) {
  const cJSON *it;
  cJSON_ArrayForEach(it, set) {
    if (strcmp(it->string, "active_speaker_name") == 0)
      e->active_speaker_name = cJSON_IsTrue(it);
    else if (strcmp(it->string, "display_name") == 0)
      snprintf(e->display_name, sizeof e->display_name, "%s", it->valuestring);
    else if (strcmp(it->string, "layout") == 0)
      snprintf(e->layout, sizeof e->layout, "%s", it->valuestring);
    else if (strcmp(it->string, "close_caption") == 0)
      snprintf(e->close_caption, sizeof e->close_caption, "%s", it->valuestring);
  }
}

/* Checks common to every PATCH body: returns false with r filled. */
static bool body_acceptable(const sim_req *q, sim_resp *r, bool allow_form) {
  /* --json-only (inference): Zoom's error catalogue answers a body that is
   * not JSON with 400, code 300; its collection sends JSON for every write */
  sim_lock();
  bool json_only = sim_cfg.json_only;
  sim_unlock();
  if (json_only && q->kind != SIM_BODY_JSON) {
    sim_resp_error(r, 400, 300, "Request Body should be a valid JSON object.");
    return false;
  }
  if (q->body_total > 0 && !q->content_type) {
    sim_resp_error(r, 415, 415, "Missing Content-Type: send %s.",
                   allow_form ? "multipart/form-data or application/json" : "application/json");
    return false;
  }
  if (q->content_type && !(q->kind == SIM_BODY_JSON || (allow_form && q->kind == SIM_BODY_FORM))) {
    sim_resp_error(r, 415, 415, "Unsupported Content-Type: %.100s. Send %s.", q->content_type,
                   allow_form ? "multipart/form-data or application/json" : "application/json");
    return false;
  }
  if (q->body_error) {
    sim_resp_error(r, 400, 300, "%s", q->body_problem);
    return false;
  }
  if (q->kind == SIM_BODY_JSON && !cJSON_IsObject(q->json)) {
    sim_resp_error(r, 400, 300, "Request Body should be a valid JSON object.");
    return false;
  }
  return true;
}

/* Host checks shared by every route; false with r filled. */
static bool host_ok(const sim_entity *e, sim_resp *r) {
  if (!e->host_exists) {
    sim_resp_error(r, 404, 1001, "User %s does not exist.", e->host_id);
    return false;
  }
  if (!e->host_in_account) {
    sim_resp_error(r, 400, 1010, "User does not belong to this account: %s.", sim_cfg.account_id);
    return false;
  }
  if (!e->host_licensed) {
    sim_resp_error(r, 400, 3161,
                   "Your user account is not allowed meeting hosting and scheduling capabilities.");
    return false;
  }
  return true;
}

static sim_entity *find_or_404(sim_kind kind, int64_t id, sim_resp *r) {
  sim_entity *e = sim_state_find(kind, id);
  if (!e)
    sim_resp_error(r, 404, 3001, "%s does not exist: %" PRId64 ".",
                   kind == SIM_MEETING ? "Meeting" : "Webinar", id);
  return e;
}

static void patch_status(sim_req *q, sim_resp *r, sim_kind kind, int64_t id) {
  if (!body_acceptable(q, r, true)) return;
  cJSON *errors = cJSON_CreateArray();
  const char *action = NULL;
  bool action_seen = false;
  cJSON *owned_settings = NULL;
  const cJSON *settings = NULL;
  bool have_settings = false;

  if (q->kind == SIM_BODY_FORM) {
    for (size_t i = 0; i < q->nparts; i++) {
      const sim_part *p = &q->parts[i];
      int count = 0;
      sim_req_part(q, p->name, &count);
      if (count > 1 && sim_req_part(q, p->name, NULL) == p) {
        char msg[128];
        snprintf(msg, sizeof msg, "The part %.60s appears %d times.", p->name, count);
        add_err(errors, p->name, msg);
      } else if (strcmp(p->name, "action") != 0 && strcmp(p->name, "settings") != 0) {
        add_err(errors, p->name, "Unknown field.");
      }
    }
    const sim_part *a = sim_req_part(q, "action", NULL);
    if (a) action = a->value ? a->value : "";
    action_seen = a != NULL;
    const sim_part *s = sim_req_part(q, "settings", NULL);
    if (s) {
      have_settings = true;
      owned_settings = cJSON_ParseWithLength(s->value ? s->value : "", s->len);
      if (!cJSON_IsObject(owned_settings))
        add_err(errors, "settings", "settings must be a JSON object.");
      else
        settings = owned_settings;
    }
  } else if (q->kind == SIM_BODY_JSON) {
    const cJSON *it;
    cJSON_ArrayForEach(it, q->json) {
      if (strcmp(it->string, "action") == 0) {
        action_seen = true;
        if (cJSON_IsString(it))
          action = it->valuestring;
        else
          add_err(errors, "action", "action must be a string.");
      } else if (strcmp(it->string, "settings") == 0) {
        have_settings = true;
        if (cJSON_IsObject(it))
          settings = it;
        else
          add_err(errors, "settings", "settings must be an object.");
      } else {
        add_err(errors, it->string, "Unknown field.");
      }
    }
  }
  bool action_ok = action && (strcmp(action, "start") == 0 || strcmp(action, "stop") == 0 ||
                              (kind == SIM_MEETING && strcmp(action, "mode") == 0));
  if (!action) {
    if (!action_seen) add_err(errors, "action", "action is required.");
  } else if (!action_ok) {
    add_err(errors, "action",
            kind == SIM_MEETING ? "action must be one of start, stop, mode."
                                : "action must be one of start, stop.");
  }
  if (settings || (action_ok && strcmp(action, "mode") == 0))
    check_settings(kind, action_ok ? action : NULL, settings, errors);
  if (cJSON_GetArraySize(errors)) {
    cJSON_Delete(owned_settings);
    sim_resp_validation(r, errors);
    return;
  }
  cJSON_Delete(errors);
  bool settings_given = have_settings && settings && cJSON_GetArraySize(settings) > 0;

  sim_lock();
  sim_entity *e = find_or_404(kind, id, r);
  if (!e || !host_ok(e, r)) goto out;
  if (strcmp(action, "start") == 0) {
    if (!e->configured) {
      sim_resp_error(r, 400, 3000,
                     "The current %s is not configured with a custom streaming service.",
                     sim_kind_name(kind));
      goto out;
    }
    if (!e->started) {
      if (kind == SIM_WEBINAR)
        sim_resp_error(r, 400, 200, "Webinar %" PRId64 " has not started.", id);
      else
        sim_resp_error(r, 400, 3000, "Meeting %" PRId64 " has not started.", id);
      goto out;
    }
    if (!sim_ratelimit_start_ok(e, r)) goto out;
    if (settings_given && e->live) {
      sim_resp_error(r, 400, 4400,
                     "The settings of a live stream can only be updated while it is "
                     "stopped, not during an ongoing live stream.");
      goto out;
    }
    apply_settings(e, settings);
    if (!e->live) sim_webhook_stream_event(e, true); /* events mark changes only */
    e->live = true;
    e->last_start = sim_now();
  } else if (strcmp(action, "stop") == 0) {
    if (settings_given && e->live) {
      sim_resp_error(r, 400, 4400,
                     "The settings of a live stream can only be updated while it is "
                     "stopped, not during an ongoing live stream.");
      goto out;
    }
    apply_settings(e, settings);
    if (e->live) sim_webhook_stream_event(e, false);
    e->live = false;
  } else { /* mode */
    if (!e->live) {
      sim_resp_error(r, 400, 4400,
                     "The live stream of meeting %" PRId64
                     " is not started: "
                     "mode changes an ongoing live stream only.",
                     id);
      goto out;
    }
    apply_settings(e, settings);
  }
  sim_resp_empty(r, 204);
out:
  sim_unlock();
  cJSON_Delete(owned_settings);
}

static void get_stream(sim_resp *r, sim_kind kind, int64_t id) {
  sim_lock();
  sim_entity *e = find_or_404(kind, id, r);
  if (e && host_ok(e, r)) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "stream_url", e->stream_url);
    cJSON_AddStringToObject(o, "stream_key", e->stream_key);
    cJSON_AddStringToObject(o, "page_url", e->page_url);
    if (e->resolution[0]) cJSON_AddStringToObject(o, "resolution", e->resolution);
    sim_resp_json(r, 200, o);
  }
  sim_unlock();
}

/* GET .../jointoken/live_streaming: {"token", "expire_in": 120} (Zoom's spec) */
static void get_join_token(sim_resp *r, sim_kind kind, int64_t id) {
  sim_lock();
  sim_entity *e = find_or_404(kind, id, r);
  if (e && host_ok(e, r)) {
    char tok[80] = "simjt_";
    sim_random_hex(tok + 6, 24);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "expire_in", 120);
    cJSON_AddStringToObject(o, "token", tok);
    sim_resp_json(r, 200, o);
  }
  sim_unlock();
}

static bool is_uri(const char *s) {
  const char *p = s;
  if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))) return false;
  while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
         *p == '+' || *p == '-' || *p == '.')
    p++;
  if (*p != ':' || !p[1]) return false;
  for (; *p; p++)
    if ((unsigned char)*p <= ' ' || *p == '"' || *p == '<' || *p == '>' || *p == '\\') return false;
  return true;
}

static void check_str(const cJSON *body, const char *key, size_t max, bool required,
                      cJSON *errors) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, key);
  char msg[128];
  if (!v) {
    if (required) {
      snprintf(msg, sizeof msg, "%s is required.", key);
      add_err(errors, key, msg);
    }
    return;
  }
  if (!cJSON_IsString(v)) {
    snprintf(msg, sizeof msg, "%s must be a string.", key);
    add_err(errors, key, msg);
  } else if (!*v->valuestring || strlen(v->valuestring) > max) {
    snprintf(msg, sizeof msg, "%s must be 1 to %zu characters long.", key, max);
    add_err(errors, key, msg);
  }
}

static void patch_stream(sim_req *q, sim_resp *r, sim_kind kind, int64_t id) {
  if (!body_acceptable(q, r, false)) return;
  if (q->kind != SIM_BODY_JSON) {
    sim_resp_error(r, 400, 300, "Request Body should be a valid JSON object.");
    return;
  }
  const cJSON *b = q->json;
  cJSON *errors = cJSON_CreateArray();
  check_str(b, "stream_url", 1024, true, errors);
  check_str(b, "stream_key", 512, true, errors);
  check_str(b, "page_url", 1024, true, errors);
  const cJSON *pu = cJSON_GetObjectItemCaseSensitive(b, "page_url");
  if (cJSON_IsString(pu) && *pu->valuestring && strlen(pu->valuestring) <= 1024 &&
      !is_uri(pu->valuestring))
    add_err(errors, "page_url", "page_url must be a URI.");
  const cJSON *res = cJSON_GetObjectItemCaseSensitive(b, "resolution");
  if (res && (!cJSON_IsString(res) ||
              (strcmp(res->valuestring, "720p") != 0 && strcmp(res->valuestring, "1080p") != 0)))
    add_err(errors, "resolution", "resolution must be 720p or 1080p.");
  const cJSON *it;
  cJSON_ArrayForEach(it, b) {
    if (strcmp(it->string, "stream_url") && strcmp(it->string, "stream_key") &&
        strcmp(it->string, "page_url") && strcmp(it->string, "resolution"))
      add_err(errors, it->string, "Unknown field.");
  }
  if (cJSON_GetArraySize(errors)) {
    sim_resp_validation(r, errors);
    return;
  }
  cJSON_Delete(errors);
  sim_lock();
  sim_entity *e = find_or_404(kind, id, r);
  if (e && host_ok(e, r)) {
    snprintf(e->stream_url, sizeof e->stream_url, "%s",
             cJSON_GetObjectItemCaseSensitive(b, "stream_url")->valuestring);
    snprintf(e->stream_key, sizeof e->stream_key, "%s",
             cJSON_GetObjectItemCaseSensitive(b, "stream_key")->valuestring);
    snprintf(e->page_url, sizeof e->page_url, "%s", pu->valuestring);
    if (res) snprintf(e->resolution, sizeof e->resolution, "%s", res->valuestring);
    e->configured = true;
    sim_resp_empty(r, 204);
  }
  sim_unlock();
}

void sim_routes_handle(sim_req *q, sim_resp *r) {
  sim_lock();
  bool authed = sim_oauth_bearer_ok(q->authorization);
  bool allowed = authed && sim_ratelimit_take(r);
  sim_unlock();
  if (!authed) {
    sim_resp_error(r, 401, 124, "Invalid access token.");
    return;
  }
  if (!allowed) return;

  /* /v2/{meetings|webinars}/{id}/livestream[/status] */
  const char *p = q->path + 3;
  sim_kind kind;
  if (strncmp(p, "/meetings/", 10) == 0)
    kind = SIM_MEETING;
  else if (strncmp(p, "/webinars/", 10) == 0)
    kind = SIM_WEBINAR;
  else
    goto not_found;
  p += 10;
  const char *slash = strchr(p, '/');
  if (!slash) goto not_found;
  char idtext[64];
  size_t idlen = (size_t)(slash - p);
  bool status_route = false, token_route = false;
  if (strcmp(slash, "/livestream") == 0)
    status_route = false;
  else if (strcmp(slash, "/livestream/status") == 0)
    status_route = true;
  else if (strcmp(slash, "/jointoken/live_streaming") == 0)
    token_route = true;
  else
    goto not_found;

  const char *allow = status_route ? "PATCH" : token_route ? "GET" : "GET, PATCH";
  bool is_patch = strcmp(q->method, "PATCH") == 0, is_get = strcmp(q->method, "GET") == 0;
  if (token_route ? !is_get : (!is_patch && !(is_get && !status_route))) {
    sim_resp_error(r, 405, 405, "Method %s is not allowed here.", q->method);
    sim_resp_header(r, "Allow", allow);
    return;
  }
  int64_t id;
  snprintf(idtext, sizeof idtext, "%.*s", idlen < sizeof idtext ? (int)idlen : 0, p);
  if (idlen >= sizeof idtext || !sim_parse_id(idtext, &id)) {
    sim_resp_error(r, 400, 300, "Invalid %s.", kind == SIM_MEETING ? "meetingId" : "webinarId");
    return;
  }
  if (token_route)
    get_join_token(r, kind, id);
  else if (status_route)
    patch_status(q, r, kind, id);
  else if (is_get)
    get_stream(r, kind, id);
  else
    patch_stream(q, r, kind, id);
  return;
not_found:
  sim_resp_error(r, 404, 404, "No such API: %s %.200s", q->method, q->path);
}
