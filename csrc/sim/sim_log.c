/* The request log behind GET /_sim/requests: a bounded ring of JSON entries,
 * one per /v2 or /oauth request, with secrets masked and captures bounded. */
#include "sim.h"

#include <stdlib.h>
#include <string.h>

static cJSON *ring[SIM_LOG_CAP]; /* guarded by sim_mutex */
static size_t ring_head, ring_len;
static atomic_uint_fast64_t next_seq = 1;

uint64_t sim_log_next_seq(void) { return atomic_fetch_add(&next_seq, 1); }

/* Copy at most SIM_LOG_VALUE_CAP bytes, replacing bytes that are not valid
 * UTF-8 by '?' so the log always stays valid JSON. */
static cJSON *text_item(const char *s, size_t len)
{
  if (!s) return cJSON_CreateString("");
  if (len > SIM_LOG_VALUE_CAP) len = SIM_LOG_VALUE_CAP;
  char *t = malloc(len + 1);
  if (!t) return cJSON_CreateString("");
  size_t i = 0;
  const unsigned char *u = (const unsigned char *)s;
  while (i < len) {
    unsigned c = u[i];
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool ok = n > 0 && i + n <= len && c != 0;
    for (size_t k = 1; ok && k < n; k++) ok = (u[i + k] & 0xc0) == 0x80;
    if (ok) {
      memcpy(t + i, s + i, n);
      i += n;
    } else {
      t[i++] = '?';
    }
  }
  t[len] = '\0';
  cJSON *item = cJSON_CreateString(t);
  free(t);
  return item;
}

static cJSON *settings_value(const sim_part *p)
{
  cJSON *v = cJSON_ParseWithLength(p->value ? p->value : "", p->len);
  return v ? v : text_item(p->value, p->len);
}

void sim_log_record(const sim_req *q, unsigned status, const char *fault)
{
  cJSON *e = cJSON_CreateObject();
  if (!e) return;
  cJSON_AddNumberToObject(e, "seq", (double)q->seq);
  cJSON_AddStringToObject(e, "method", q->method);
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
      if (p->filename) cJSON_AddItemToObject(po, "filename", text_item(p->filename, strlen(p->filename)));
      if (p->content_type)
        cJSON_AddItemToObject(po, "content_type", text_item(p->content_type, strlen(p->content_type)));
      cJSON_AddItemToArray(parts, po);
      if (!cJSON_GetObjectItemCaseSensitive(fields, p->name)) {
        cJSON_AddItemToObject(fields, p->name, text_item(p->value, p->len));
        cJSON_AddItemToObject(payload, p->name,
                              strcmp(p->name, "settings") == 0 ? settings_value(p)
                                                               : text_item(p->value, p->len));
      }
    }
  } else if (q->kind == SIM_BODY_JSON && q->json) {
    cJSON_Delete(cJSON_DetachItemFromObject(e, "fields"));
    cJSON_AddItemToObject(e, "fields", cJSON_Duplicate(q->json, 1));
    payload = cJSON_Duplicate(q->json, 1);
  }
  if (payload) cJSON_AddItemToObject(e, "payload", payload);
  else cJSON_AddNullToObject(e, "payload");
  cJSON_AddNumberToObject(e, "status", status);
  if (fault) cJSON_AddStringToObject(e, "fault", fault);
  cJSON_AddStringToObject(e, "tracking_id", q->tracking);
  char iso[32];
  sim_iso8601((double)(int64_t)q->t_start, iso); /* whole second, rounded down */
  cJSON_AddNumberToObject(e, "time", q->t_start);
  cJSON_AddStringToObject(e, "time_iso", iso);

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

cJSON *sim_log_to_json(uint64_t since)
{
  cJSON *arr = cJSON_CreateArray();
  for (size_t i = 0; i < ring_len; i++) {
    cJSON *e = ring[(ring_head + i) % SIM_LOG_CAP];
    cJSON *seq = cJSON_GetObjectItemCaseSensitive(e, "seq");
    if (seq && (uint64_t)seq->valuedouble <= since) continue;
    cJSON_AddItemToArray(arr, cJSON_Duplicate(e, 1));
  }
  return arr;
}

void sim_log_clear(void)
{
  for (size_t i = 0; i < ring_len; i++) {
    cJSON_Delete(ring[(ring_head + i) % SIM_LOG_CAP]);
    ring[(ring_head + i) % SIM_LOG_CAP] = NULL;
  }
  ring_head = ring_len = 0;
}

void sim_log_free(void) { sim_log_clear(); }
