/* The request log behind GET /_sim/requests: a bounded ring of JSON entries,
 * one per /v2 or /oauth request, with secrets masked and captures bounded. */
#include "sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cJSON *ring[SIM_LOG_CAP]; /* guarded by sim_mutex */
static size_t ring_head, ring_len;
static atomic_uint_fast64_t next_seq = 1;

uint64_t sim_log_next_seq(void) { return atomic_fetch_add(&next_seq, 1); }

/* Length of the valid UTF-8 sequence at u (strict: no overlong forms, no
 * surrogates, nothing past U+10FFFF, no NUL), or 0. */
static size_t utf8_seq(const unsigned char *u, size_t left) {
  unsigned c = u[0];
  if (c == 0) return 0;
  if (c < 0x80) return 1;
  size_t n;
  unsigned lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF)
    n = 2;
  else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F; /* no surrogates */
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F; /* nothing past U+10FFFF */
  } else
    return 0;
  if (left < n) return 0;
  if (u[1] < lo || u[1] > hi) return 0;
  for (size_t k = 2; k < n; k++)
    if ((u[k] & 0xC0) != 0x80) return 0;
  return n;
}

static bool utf8_valid(const char *s, size_t len) {
  const unsigned char *u = (const unsigned char *)s;
  for (size_t i = 0; i < len;) {
    size_t n = utf8_seq(u + i, len - i);
    if (!n) return false;
    i += n;
  }
  return true;
}

/* A copy of at most cap bytes of s in which every byte that is not part of
 * valid UTF-8 (NUL included) is written as the text \xNN, so the log stays
 * valid JSON and still shows what was sent.  NULL on no memory. */
static char *escape_text(const char *s, size_t len, size_t cap) {
  if (len > cap) len = cap;
  char *t = malloc(len * 4 + 1);
  if (!t) return NULL;
  const unsigned char *u = (const unsigned char *)s;
  size_t o = 0;
  for (size_t i = 0; i < len;) {
    size_t n = utf8_seq(u + i, len - i);
    if (n) {
      memcpy(t + o, s + i, n);
      o += n;
      i += n;
    } else {
      o += (size_t)snprintf(t + o, 5, "\\x%02X", u[i]);
      i++;
    }
  }
  t[o] = '\0';
  return t;
}

/* Copy at most SIM_LOG_VALUE_CAP bytes, invalid bytes escaped. */
static cJSON *text_item(const char *s, size_t len) {
  if (!s) return cJSON_CreateString("");
  char *t = escape_text(s, len, SIM_LOG_VALUE_CAP);
  if (!t) return cJSON_CreateString("");
  cJSON *item = cJSON_CreateString(t);
  free(t);
  return item;
}

/* Every key and string of a log entry made valid UTF-8 (headers, query
 * values and parsed JSON bodies come in with whatever bytes were sent). */
static void clean_tree(cJSON *it) {
  for (; it; it = it->next) {
    if (it->string && !(it->type & cJSON_StringIsConst) &&
        !utf8_valid(it->string, strlen(it->string))) {
      char *k = escape_text(it->string, strlen(it->string), SIM_LOG_VALUE_CAP);
      if (k) {
        free(it->string);
        it->string = k;
      }
    }
    if (cJSON_IsString(it) && it->valuestring &&
        !utf8_valid(it->valuestring, strlen(it->valuestring))) {
      char *v = escape_text(it->valuestring, strlen(it->valuestring), SIM_LOG_VALUE_CAP);
      if (v) {
        free(it->valuestring);
        it->valuestring = v;
      }
    }
    if (it->child) clean_tree(it->child);
  }
}

static cJSON *settings_value(const sim_part *p) {
  cJSON *v = cJSON_ParseWithLength(p->value ? p->value : "", p->len);
  return v ? v : text_item(p->value, p->len);
}

void sim_log_record(const sim_req *q, unsigned status, const char *fault) {
  cJSON *e = cJSON_CreateObject();
  if (!e) return;
  cJSON_AddNumberToObject(e, "seq", (double)q->seq);
  cJSON_AddItemToObject(e, "method", text_item(q->method, strlen(q->method)));
  cJSON_AddItemToObject(e, "path", text_item(q->path, strlen(q->path)));
  cJSON_AddItemToObject(e, "query", cJSON_Duplicate(q->query, 1));
  cJSON_AddItemToObject(e, "headers", cJSON_Duplicate(q->headers, 1));
  if (q->content_type) {
    cJSON_AddItemToObject(e, "content_type", text_item(q->content_type, strlen(q->content_type)));
  } else {
    cJSON_AddNullToObject(e, "content_type");
  }
  cJSON_AddNumberToObject(e, "body_size", (double)q->body_total);
  cJSON_AddItemToObject(e, "body", text_item(q->body, q->body_len));
  cJSON_AddBoolToObject(e, "body_truncated", q->body_total > SIM_LOG_VALUE_CAP);

  cJSON *fields = cJSON_AddObjectToObject(e, "fields");
  cJSON *payload = NULL;
  if (q->kind == SIM_BODY_FORM || q->kind == SIM_BODY_URLENC) {
    cJSON *parts = cJSON_AddArrayToObject(e, "parts");
    payload = cJSON_CreateObject();
    for (size_t i = 0; i < q->nparts; i++) {
      const sim_part *p = &q->parts[i];
      cJSON *po = cJSON_CreateObject();
      cJSON_AddItemToObject(po, "name", text_item(p->name, strlen(p->name)));
      cJSON_AddItemToObject(po, "value", text_item(p->value, p->len));
      if (p->filename)
        cJSON_AddItemToObject(po, "filename", text_item(p->filename, strlen(p->filename)));
      if (p->content_type)
        cJSON_AddItemToObject(po, "content_type",
                              text_item(p->content_type, strlen(p->content_type)));
      cJSON_AddItemToArray(parts, po);
      if (!cJSON_GetObjectItemCaseSensitive(fields, p->name)) {
        cJSON_AddItemToObject(fields, p->name, text_item(p->value, p->len));
        cJSON_AddItemToObject(
          payload, p->name,
          strcmp(p->name, "settings") == 0 ? settings_value(p) : text_item(p->value, p->len));
      }
    }
  } else if (q->kind == SIM_BODY_JSON && q->json) {
    cJSON_Delete(cJSON_DetachItemFromObject(e, "fields"));
    cJSON_AddItemToObject(e, "fields", cJSON_Duplicate(q->json, 1));
    payload = cJSON_Duplicate(q->json, 1);
  }
  if (payload)
    cJSON_AddItemToObject(e, "payload", payload);
  else
    cJSON_AddNullToObject(e, "payload");
  cJSON_AddNumberToObject(e, "status", status);
  if (fault) cJSON_AddStringToObject(e, "fault", fault);
  cJSON_AddStringToObject(e, "tracking_id", q->tracking);
  char iso[32];
  sim_iso8601((double)(int64_t)q->t_start, iso); /* whole second, rounded down */
  cJSON_AddNumberToObject(e, "time", q->t_start);
  cJSON_AddStringToObject(e, "time_iso", iso);

  clean_tree(e->child);
  sim_lock();
  size_t slot = (ring_head + ring_len) % SIM_LOG_CAP;
  if (ring_len == SIM_LOG_CAP) {
    cJSON_Delete(ring[ring_head]);
    ring[ring_head] = NULL;
    ring_head = (ring_head + 1) % SIM_LOG_CAP;
    slot = (ring_head + ring_len - 1) % SIM_LOG_CAP;
  } else {
    ring_len++;
  }
  ring[slot] = e;
  sim_unlock();
}

cJSON *sim_log_to_json(uint64_t since) {
  cJSON *arr = cJSON_CreateArray();
  for (size_t i = 0; i < ring_len; i++) {
    cJSON *e = ring[(ring_head + i) % SIM_LOG_CAP];
    cJSON *seq = cJSON_GetObjectItemCaseSensitive(e, "seq");
    if (seq && (uint64_t)seq->valuedouble <= since) continue;
    cJSON_AddItemToArray(arr, cJSON_Duplicate(e, 1));
  }
  return arr;
}

void sim_log_clear(void) {
  for (size_t i = 0; i < ring_len; i++) {
    cJSON_Delete(ring[(ring_head + i) % SIM_LOG_CAP]);
    ring[(ring_head + i) % SIM_LOG_CAP] = NULL;
  }
  ring_head = ring_len = 0;
}

void sim_log_free(void) { sim_log_clear(); }
