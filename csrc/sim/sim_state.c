/* Meetings and webinars: the built-in fixtures, the fixtures file,
 * generated id ranges and their JSON form. All functions expect sim_mutex
 * to be held (or to run before the server starts). */
#include "sim.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NBUCKETS (1u << 16)

typedef struct sim_range {
  sim_kind kind;
  int64_t first, count;
  cJSON *tmpl; /* merged onto each generated entity, may be NULL */
  struct sim_range *next;
} sim_range;

static sim_entity *buckets[2][NBUCKETS];
static sim_range *ranges;

const char *sim_kind_name(sim_kind k) { return k == SIM_MEETING ? "meeting" : "webinar"; }

bool sim_parse_id(const char *s, int64_t *out) {
  if (!s || !*s) return false;
  uint64_t v = 0;
  for (const char *p = s; *p; p++) {
    if (*p < '0' || *p > '9') return false;
    unsigned d = (unsigned)(*p - '0');
    if (v > ((uint64_t)INT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = (int64_t)v;
  return true;
}

static unsigned bucket_of(int64_t id) {
  uint64_t h = (uint64_t)id * 0x9e3779b97f4a7c15ULL;
  return (unsigned)(h >> 48) & (NBUCKETS - 1);
}

static void entity_defaults(sim_entity *e, sim_kind kind, int64_t id) {
  memset(e, 0, sizeof *e);
  e->id = id;
  e->kind = kind;
  e->started = true;
  snprintf(e->host_id, sizeof e->host_id, "simhost%" PRId64, id);
  e->host_exists = e->host_in_account = e->host_licensed = true;
  e->configured = true;
  snprintf(e->stream_url, sizeof e->stream_url, "rtmp://live.example.com/app");
  snprintf(e->stream_key, sizeof e->stream_key, "key-%" PRId64, id);
  snprintf(e->page_url, sizeof e->page_url, "https://live.example.com/watch/%" PRId64, id);
  strcpy(e->layout, "follow_host");
  strcpy(e->close_caption, "burnt-in");
  e->last_start = -1;
}

static sim_entity *insert(sim_kind kind, int64_t id) {
  sim_entity *e = malloc(sizeof *e);
  if (!e) return NULL;
  entity_defaults(e, kind, id);
  unsigned b = bucket_of(id);
  e->next = buckets[kind][b];
  buckets[kind][b] = e;
  return e;
}

static sim_entity *lookup(sim_kind kind, int64_t id) {
  for (sim_entity *e = buckets[kind][bucket_of(id)]; e; e = e->next)
    if (e->id == id) return e;
  return NULL;
}

sim_entity *sim_state_find(sim_kind kind, int64_t id) {
  sim_entity *e = lookup(kind, id);
  if (e) return e;
  for (sim_range *r = ranges; r; r = r->next) {
    if (r->kind == kind && id >= r->first && id - r->first < r->count) {
      e = insert(kind, id);
      if (e && r->tmpl) {
        char err[8];
        sim_state_merge(e, r->tmpl, err, sizeof err);
      }
      return e;
    }
  }
  if (kind == SIM_MEETING && sim_cfg.any_meeting) return insert(kind, id);
  return NULL;
}

sim_entity *sim_state_create(sim_kind kind, int64_t id) {
  sim_entity *e = sim_state_find(kind, id);
  return e ? e : insert(kind, id);
}

bool sim_state_delete(sim_kind kind, int64_t id) {
  sim_entity **pp = &buckets[kind][bucket_of(id)];
  for (; *pp; pp = &(*pp)->next) {
    if ((*pp)->id == id) {
      sim_entity *e = *pp;
      *pp = e->next;
      free(e);
      return true;
    }
  }
  return false;
}

void sim_state_free(void) {
  for (int k = 0; k < 2; k++)
    for (unsigned b = 0; b < NBUCKETS; b++) {
      sim_entity *e = buckets[k][b];
      while (e) {
        sim_entity *n = e->next;
        free(e);
        e = n;
      }
      buckets[k][b] = NULL;
    }
  while (ranges) {
    sim_range *n = ranges->next;
    cJSON_Delete(ranges->tmpl);
    free(ranges);
    ranges = n;
  }
}

cJSON *sim_state_to_json(const sim_entity *e) {
  char buf[32];
  cJSON *o = cJSON_CreateObject();
  snprintf(buf, sizeof buf, "%" PRId64, e->id);
  cJSON_AddItemToObject(o, "id", cJSON_CreateRaw(buf));
  cJSON_AddStringToObject(o, "type", sim_kind_name(e->kind));
  cJSON *h = cJSON_AddObjectToObject(o, "host");
  cJSON_AddStringToObject(h, "id", e->host_id);
  cJSON_AddBoolToObject(h, "exists", e->host_exists);
  cJSON_AddBoolToObject(h, "in_account", e->host_in_account);
  cJSON_AddBoolToObject(h, "licensed", e->host_licensed);
  cJSON_AddBoolToObject(o, "started", e->started);
  cJSON *s = cJSON_AddObjectToObject(o, "stream");
  cJSON_AddBoolToObject(s, "configured", e->configured);
  cJSON_AddStringToObject(s, "stream_url", e->stream_url);
  cJSON_AddStringToObject(s, "stream_key", e->stream_key);
  cJSON_AddStringToObject(s, "page_url", e->page_url);
  if (e->resolution[0]) cJSON_AddStringToObject(s, "resolution", e->resolution);
  cJSON_AddStringToObject(o, "status", e->live ? "live" : "stopped");
  cJSON_AddBoolToObject(o, "fails_to_go_live", e->fails_to_go_live);
  cJSON *st = cJSON_AddObjectToObject(o, "settings");
  cJSON_AddBoolToObject(st, "active_speaker_name", e->active_speaker_name);
  cJSON_AddStringToObject(st, "display_name", e->display_name);
  if (e->kind == SIM_MEETING) cJSON_AddStringToObject(st, "layout", e->layout);
  cJSON_AddStringToObject(st, "close_caption", e->close_caption);
  if (e->last_start >= 0) {
    cJSON_AddNumberToObject(o, "last_start", e->last_start);
  } else {
    cJSON_AddNullToObject(o, "last_start");
  }
  return o;
}

/* Copy a string member into a fixed buffer; errors if not a string/too long. */
static int take_str(const cJSON *obj, const char *key, char *dst, size_t cap, char *err,
                    size_t errlen) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!v) return 0;
  if (!cJSON_IsString(v)) {
    snprintf(err, errlen, "%s must be a string", key);
    return -1;
  }
  if (strlen(v->valuestring) >= cap) {
    snprintf(err, errlen, "%s is too long", key);
    return -1;
  }
  strcpy(dst, v->valuestring);
  return 0;
}

static int take_bool(const cJSON *obj, const char *key, bool *dst, char *err, size_t errlen) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!v) return 0;
  if (!cJSON_IsBool(v)) {
    snprintf(err, errlen, "%s must be a boolean", key);
    return -1;
  }
  *dst = cJSON_IsTrue(v);
  return 0;
}

int sim_state_merge(sim_entity *e, const cJSON *obj, char *err, size_t errlen) {
  if (!cJSON_IsObject(obj)) {
    snprintf(err, errlen, "state must be a JSON object");
    return -1;
  }
  sim_entity n = *e; /* work on a copy: all or nothing */
  const cJSON *h = cJSON_GetObjectItemCaseSensitive(obj, "host");
  if (h) {
    if (!cJSON_IsObject(h)) {
      snprintf(err, errlen, "host must be an object");
      return -1;
    }
    if (take_str(h, "id", n.host_id, sizeof n.host_id, err, errlen) ||
        take_bool(h, "exists", &n.host_exists, err, errlen) ||
        take_bool(h, "in_account", &n.host_in_account, err, errlen) ||
        take_bool(h, "licensed", &n.host_licensed, err, errlen))
      return -1;
  }
  if (take_bool(obj, "started", &n.started, err, errlen) ||
      take_bool(obj, "fails_to_go_live", &n.fails_to_go_live, err, errlen))
    return -1;
  const cJSON *s = cJSON_GetObjectItemCaseSensitive(obj, "stream");
  if (s) {
    if (!cJSON_IsObject(s)) {
      snprintf(err, errlen, "stream must be an object");
      return -1;
    }
    if (take_bool(s, "configured", &n.configured, err, errlen) ||
        take_str(s, "stream_url", n.stream_url, sizeof n.stream_url, err, errlen) ||
        take_str(s, "stream_key", n.stream_key, sizeof n.stream_key, err, errlen) ||
        take_str(s, "page_url", n.page_url, sizeof n.page_url, err, errlen) ||
        take_str(s, "resolution", n.resolution, sizeof n.resolution, err, errlen))
      return -1;
  }
  const cJSON *st = cJSON_GetObjectItemCaseSensitive(obj, "status");
  if (st) {
    if (cJSON_IsString(st) && strcmp(st->valuestring, "live") == 0) {
      n.live = true;
    } else if (cJSON_IsString(st) && strcmp(st->valuestring, "stopped") == 0) {
      n.live = false;
    } else {
      snprintf(err, errlen, "status must be \"live\" or \"stopped\"");
      return -1;
    }
  }
  const cJSON *set = cJSON_GetObjectItemCaseSensitive(obj, "settings");
  if (set) {
    if (!cJSON_IsObject(set)) {
      snprintf(err, errlen, "settings must be an object");
      return -1;
    }
    if (take_bool(set, "active_speaker_name", &n.active_speaker_name, err, errlen) ||
        take_str(set, "display_name", n.display_name, sizeof n.display_name, err, errlen) ||
        take_str(set, "layout", n.layout, sizeof n.layout, err, errlen) ||
        take_str(set, "close_caption", n.close_caption, sizeof n.close_caption, err, errlen))
      return -1;
  }
  const cJSON *ls = cJSON_GetObjectItemCaseSensitive(obj, "last_start");
  if (ls) {
    if (cJSON_IsNull(ls)) {
      n.last_start = -1;
    } else if (cJSON_IsNumber(ls)) {
      n.last_start = ls->valuedouble;
    } else {
      snprintf(err, errlen, "last_start must be a number or null");
      return -1;
    }
  }
  n.next = e->next;
  *e = n;
  return 0;
}

/* ---- built-in fixtures ---------------------------------------------------- */
typedef struct {
  sim_kind kind;
  int64_t id;
  const char *json; /* merged onto the ready-to-stream default */
} builtin;

static const builtin builtins[] = {
  /* the seed's meeting: ready, stopped */
  {SIM_MEETING, 68423085, "{}"},
  {SIM_MEETING, 93398114182, "{}"},
  {SIM_MEETING, 85746065432, "{\"status\":\"live\"}"},
  {SIM_MEETING, 10000000001,
   "{\"stream\":{\"configured\":false,\"stream_url\":\"\","
   "\"stream_key\":\"\",\"page_url\":\"\"}}"},
  {SIM_MEETING, 10000000002, "{\"started\":false}"},
  {SIM_MEETING, 10000000003, "{\"host\":{\"in_account\":false}}"},
  {SIM_MEETING, 10000000004, "{\"host\":{\"licensed\":false}}"},
  {SIM_MEETING, 10000000005, "{\"host\":{\"exists\":false}}"},
  {SIM_WEBINAR, 81234567890, "{}"},
  {SIM_WEBINAR, 82000000001,
   "{\"stream\":{\"configured\":false,\"stream_url\":\"\","
   "\"stream_key\":\"\",\"page_url\":\"\"}}"},
  {SIM_WEBINAR, 82000000002, "{\"started\":false}"},
  {SIM_WEBINAR, 82000000003, "{\"status\":\"live\"}"},
  {SIM_WEBINAR, 82000000004, "{\"host\":{\"in_account\":false}}"},
  {SIM_WEBINAR, 82000000005, "{\"host\":{\"licensed\":false}}"},
  {SIM_WEBINAR, 82000000006, "{\"host\":{\"exists\":false}}"},
};

static int id_of(const cJSON *v, int64_t *id) {
  if (cJSON_IsString(v)) return sim_parse_id(v->valuestring, id) ? 0 : -1;
  if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 9.2e18 &&
      v->valuedouble == (double)(int64_t)v->valuedouble) {
    *id = (int64_t)v->valuedouble;
    return 0;
  }
  return -1;
}

static int load_list(sim_kind kind, const cJSON *list, char *err, size_t errlen) {
  if (!list) return 0;
  if (!cJSON_IsArray(list) && !cJSON_IsObject(list)) {
    snprintf(err, errlen, "%ss must be an array or an object keyed by id", sim_kind_name(kind));
    return -1;
  }
  const cJSON *item;
  cJSON_ArrayForEach(item, list) {
    int64_t id;
    const cJSON *idv = cJSON_IsObject(list) ? NULL : cJSON_GetObjectItemCaseSensitive(item, "id");
    int bad = cJSON_IsObject(list) ? !sim_parse_id(item->string, &id) : (!idv || id_of(idv, &id));
    if (bad) {
      snprintf(err, errlen, "a %s has a missing or invalid id", sim_kind_name(kind));
      return -1;
    }
    sim_entity *e = sim_state_create(kind, id);
    if (!e) {
      snprintf(err, errlen, "out of memory");
      return -1;
    }
    char sub[160];
    if (sim_state_merge(e, item, sub, sizeof sub)) {
      snprintf(err, errlen, "%s %" PRId64 ": %s", sim_kind_name(kind), id, sub);
      return -1;
    }
  }
  return 0;
}

static int load_range(sim_kind kind, const cJSON *g, char *err, size_t errlen) {
  if (!g) return 0;
  if (cJSON_IsArray(g)) {
    const cJSON *it;
    cJSON_ArrayForEach(it, g) if (load_range(kind, it, err, errlen)) return -1;
    return 0;
  }
  int64_t first, count;
  const cJSON *tmpl = cJSON_GetObjectItemCaseSensitive(g, "template");
  if (!cJSON_IsObject(g) || id_of(cJSON_GetObjectItemCaseSensitive(g, "first"), &first) ||
      id_of(cJSON_GetObjectItemCaseSensitive(g, "count"), &count) ||
      (tmpl && !cJSON_IsObject(tmpl))) {
    snprintf(err, errlen, "generate.%ss needs {\"first\":ID,\"count\":N[,\"template\":{...}]}",
             sim_kind_name(kind));
    return -1;
  }
  if (tmpl) { /* validate the template once, now */
    sim_entity probe;
    entity_defaults(&probe, kind, first);
    char sub[160];
    if (sim_state_merge(&probe, tmpl, sub, sizeof sub)) {
      snprintf(err, errlen, "generate.%ss template: %s", sim_kind_name(kind), sub);
      return -1;
    }
  }
  sim_range *r = calloc(1, sizeof *r);
  if (!r) return -1;
  r->kind = kind;
  r->first = first;
  r->count = count;
  r->tmpl = tmpl ? cJSON_Duplicate(tmpl, 1) : NULL;
  r->next = ranges;
  ranges = r;
  return 0;
}

static char *read_file(const char *path, char *err, size_t errlen) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(err, errlen, "cannot open fixtures %s: %s", path, strerror(errno));
    return NULL;
  }
  size_t cap = 65536, len = 0;
  char *buf = malloc(cap);
  while (buf) {
    size_t n = fread(buf + len, 1, cap - len - 1, f);
    len += n;
    if (n == 0) break;
    if (cap - len - 1 == 0) {
      char *nb = realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = nb;
      cap *= 2;
    }
  }
  fclose(f);
  if (buf)
    buf[len] = '\0';
  else
    snprintf(err, errlen, "out of memory reading %s", path);
  return buf;
}

int sim_state_load(const char *fixtures, char *err, size_t errlen) {
  sim_state_free();
  cJSON *doc = NULL;
  if (fixtures) {
    char *text = read_file(fixtures, err, errlen);
    if (!text) return -1;
    doc = cJSON_Parse(text);
    free(text);
    if (!cJSON_IsObject(doc)) {
      cJSON_Delete(doc);
      snprintf(err, errlen, "fixtures %s: not a JSON object", fixtures);
      return -1;
    }
  }
  const cJSON *defs = cJSON_GetObjectItemCaseSensitive(doc, "defaults");
  if (!defs || cJSON_IsTrue(defs)) {
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++) {
      sim_entity *e = insert(builtins[i].kind, builtins[i].id);
      cJSON *j = cJSON_Parse(builtins[i].json);
      if (e) sim_state_merge(e, j, err, errlen);
      cJSON_Delete(j);
    }
  }
  int rc = 0;
  if (doc) {
    const cJSON *gen = cJSON_GetObjectItemCaseSensitive(doc, "generate");
    rc = load_range(SIM_MEETING, cJSON_GetObjectItemCaseSensitive(gen, "meetings"), err, errlen);
    if (!rc)
      rc = load_range(SIM_WEBINAR, cJSON_GetObjectItemCaseSensitive(gen, "webinars"), err, errlen);
    if (!rc)
      rc = load_list(SIM_MEETING, cJSON_GetObjectItemCaseSensitive(doc, "meetings"), err, errlen);
    if (!rc)
      rc = load_list(SIM_WEBINAR, cJSON_GetObjectItemCaseSensitive(doc, "webinars"), err, errlen);
    if (rc && fixtures) {
      char tmp[256];
      snprintf(tmp, sizeof tmp, "fixtures %s: %s", fixtures, err);
      snprintf(err, errlen, "%s", tmp);
    }
    cJSON_Delete(doc);
  }
  return rc;
}
