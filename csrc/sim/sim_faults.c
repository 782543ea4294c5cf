/* Injected faults: latency, error statuses, connection resets, hangs,
 * truncated, malformed and huge bodies; global or scoped, counted or random.
 * Callers hold sim_mutex. */
#include "sim.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sim_fault {
  long id;
  char *path;               /* path prefix or NULL */
  int64_t meeting, webinar; /* -1: any */
  char method[16];          /* "" = any */
  long count;               /* remaining, -1 unlimited */
  double rate;              /* probability, 1 = always */
  long latency_ms;
  sim_fx effect;
  unsigned status;
  long huge_body;
  bool apply;
  struct sim_fault *next;
} sim_fault;

static sim_fault *faults, **faults_tail = &faults;
static long next_id = 1;
static cJSON *boot_faults; /* from the command line, restored by reset */

const char *sim_fx_name(sim_fx fx) {
  switch (fx) {
    case SIM_FX_STATUS: return "status";
    case SIM_FX_RESET_BEFORE: return "reset_before";
    case SIM_FX_RESET_AFTER: return "reset_after";
    case SIM_FX_HANG: return "hang";
    case SIM_FX_TRUNCATE: return "truncate";
    case SIM_FX_MALFORMED: return "malformed_json";
    case SIM_FX_HUGE: return "huge_body";
    default: return NULL;
  }
}

static int set_effect(sim_fault *f, sim_fx fx, char *err, size_t errlen) {
  if (f->effect != SIM_FX_NONE && f->effect != SIM_FX_STATUS) {
    snprintf(err, errlen, "a fault takes one of reset, hang, truncate, malformed_json, huge_body");
    return -1;
  }
  f->effect = fx;
  return 0;
}

static int parse_fault(const cJSON *o, sim_fault *f, char *err, size_t errlen) {
  memset(f, 0, sizeof *f);
  f->meeting = f->webinar = -1;
  f->count = -1;
  f->rate = 1;
  if (!cJSON_IsObject(o)) {
    snprintf(err, errlen, "a fault must be a JSON object");
    return -1;
  }
  const cJSON *it;
  cJSON_ArrayForEach(it, o) {
    const char *k = it->string;
    if (strcmp(k, "path") == 0 && cJSON_IsString(it)) {
      free(f->path);
      f->path = strdup(it->valuestring);
    } else if ((strcmp(k, "meeting") == 0 || strcmp(k, "webinar") == 0) &&
               (cJSON_IsNumber(it) || cJSON_IsString(it))) {
      int64_t id;
      char buf[32];
      if (cJSON_IsNumber(it))
        snprintf(buf, sizeof buf, "%.0f", it->valuedouble);
      else
        snprintf(buf, sizeof buf, "%s", it->valuestring);
      if (!sim_parse_id(buf, &id)) {
        snprintf(err, errlen, "%s must be a meeting/webinar id", k);
        return -1;
      }
      if (k[0] == 'm')
        f->meeting = id;
      else
        f->webinar = id;
    } else if (strcmp(k, "method") == 0 && cJSON_IsString(it) &&
               strlen(it->valuestring) < sizeof f->method) {
      strcpy(f->method, it->valuestring);
    } else if (strcmp(k, "count") == 0 && cJSON_IsNumber(it) && it->valuedouble >= 1) {
      f->count = (long)it->valuedouble;
    } else if (strcmp(k, "rate") == 0 && cJSON_IsNumber(it) && it->valuedouble >= 0 &&
               it->valuedouble <= 1) {
      f->rate = it->valuedouble;
    } else if (strcmp(k, "latency_ms") == 0 && cJSON_IsNumber(it) && it->valuedouble >= 0 &&
               it->valuedouble <= 3600000) {
      f->latency_ms = (long)it->valuedouble;
    } else if (strcmp(k, "status") == 0 && cJSON_IsNumber(it) && it->valuedouble >= 100 &&
               it->valuedouble <= 599) {
      f->status = (unsigned)it->valuedouble;
      if (f->effect == SIM_FX_NONE) f->effect = SIM_FX_STATUS;
    } else if (strcmp(k, "reset") == 0 && cJSON_IsString(it) &&
               (strcmp(it->valuestring, "before") == 0 || strcmp(it->valuestring, "after") == 0)) {
      if (set_effect(f, it->valuestring[0] == 'b' ? SIM_FX_RESET_BEFORE : SIM_FX_RESET_AFTER, err,
                     errlen))
        return -1;
    } else if (strcmp(k, "hang") == 0 && cJSON_IsBool(it)) {
      if (cJSON_IsTrue(it) && set_effect(f, SIM_FX_HANG, err, errlen)) return -1;
    } else if (strcmp(k, "truncate") == 0 && cJSON_IsBool(it)) {
      if (cJSON_IsTrue(it) && set_effect(f, SIM_FX_TRUNCATE, err, errlen)) return -1;
    } else if (strcmp(k, "malformed_json") == 0 && cJSON_IsBool(it)) {
      if (cJSON_IsTrue(it) && set_effect(f, SIM_FX_MALFORMED, err, errlen)) return -1;
    } else if (strcmp(k, "huge_body") == 0 && cJSON_IsNumber(it) && it->valuedouble >= 1 &&
               it->valuedouble <= 1024.0 * 1024 * 1024) {
      if (set_effect(f, SIM_FX_HUGE, err, errlen)) return -1;
      f->huge_body = (long)it->valuedouble;
    } else if (strcmp(k, "apply") == 0 && cJSON_IsBool(it)) {
      f->apply = cJSON_IsTrue(it);
    } else if (strcmp(k, "id") == 0 || strcmp(k, "effect") == 0) {
      /* echoed back from GET /_sim/faults: ignored */
    } else {
      snprintf(err, errlen, "fault: unknown key or bad value for \"%s\"", k);
      return -1;
    }
  }
  if (f->effect == SIM_FX_NONE && f->latency_ms == 0) {
    snprintf(err, errlen,
             "a fault needs latency_ms, status, reset, hang, truncate, "
             "malformed_json or huge_body");
    return -1;
  }
  return 0;
}

static int add_one(const cJSON *o, long *id, char *err, size_t errlen) {
  sim_fault tmp;
  if (parse_fault(o, &tmp, err, errlen)) {
    free(tmp.path);
    return -1;
  }
  sim_fault *f = malloc(sizeof *f);
  if (!f) {
    free(tmp.path);
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  *f = tmp;
  f->id = next_id++;
  f->next = NULL;
  *faults_tail = f;
  faults_tail = &f->next;
  if (id) *id = f->id;
  return 0;
}

int sim_faults_add_json(const cJSON *obj, long *id, char *err, size_t errlen) {
  return add_one(obj, id, err, errlen);
}

static bool scope_matches(const sim_fault *f, const char *method, const char *path) {
  if (f->method[0] && strcmp(f->method, method) != 0) return false;
  if (f->path && strncmp(path, f->path, strlen(f->path)) != 0) return false;
  if (f->meeting >= 0 || f->webinar >= 0) {
    char pre[64];
    int n = f->meeting >= 0 ? snprintf(pre, sizeof pre, "/v2/meetings/%" PRId64, f->meeting)
                            : snprintf(pre, sizeof pre, "/v2/webinars/%" PRId64, f->webinar);
    if (strncmp(path, pre, (size_t)n) != 0 || (path[n] != '/' && path[n] != '\0')) return false;
  }
  return true;
}

static void unlink_fault(sim_fault **pp) {
  sim_fault *f = *pp;
  *pp = f->next;
  if (faults_tail == &f->next) faults_tail = pp;
  free(f->path);
  free(f);
}

bool sim_faults_match(const char *method, const char *path, sim_fault_hit *hit) {
  memset(hit, 0, sizeof *hit);
  bool any = false;
  for (sim_fault **pp = &faults; *pp;) {
    sim_fault *f = *pp;
    bool take = scope_matches(f, method, path) &&
                (f->rate >= 1 || (double)(sim_random() >> 11) / 9007199254740992.0 < f->rate);
    if (take && (f->effect == SIM_FX_NONE || hit->effect == SIM_FX_NONE)) {
      any = true;
      hit->latency_ms += f->latency_ms;
      if (f->effect != SIM_FX_NONE) {
        hit->effect = f->effect;
        hit->status = f->status;
        hit->huge_body = (size_t)f->huge_body;
        hit->apply = f->apply;
        hit->fault_id = f->id;
      }
      if (f->count > 0 && --f->count == 0) {
        unlink_fault(pp);
        continue;
      }
    }
    pp = &f->next;
  }
  return any;
}

cJSON *sim_faults_to_json(void) {
  cJSON *arr = cJSON_CreateArray();
  for (sim_fault *f = faults; f; f = f->next) {
    cJSON *o = cJSON_CreateObject();
    char buf[32];
    cJSON_AddNumberToObject(o, "id", (double)f->id);
    if (f->path) cJSON_AddStringToObject(o, "path", f->path);
    if (f->meeting >= 0) {
      snprintf(buf, sizeof buf, "%" PRId64, f->meeting);
      cJSON_AddItemToObject(o, "meeting", cJSON_CreateRaw(buf));
    }
    if (f->webinar >= 0) {
      snprintf(buf, sizeof buf, "%" PRId64, f->webinar);
      cJSON_AddItemToObject(o, "webinar", cJSON_CreateRaw(buf));
    }
    if (f->method[0]) cJSON_AddStringToObject(o, "method", f->method);
    if (f->count > 0) cJSON_AddNumberToObject(o, "count", (double)f->count);
    if (f->rate < 1) cJSON_AddNumberToObject(o, "rate", f->rate);
    if (f->latency_ms) cJSON_AddNumberToObject(o, "latency_ms", (double)f->latency_ms);
    const char *fx = sim_fx_name(f->effect);
    cJSON_AddStringToObject(o, "effect", fx ? fx : "none");
    if (f->status) cJSON_AddNumberToObject(o, "status", f->status);
    if (f->effect == SIM_FX_RESET_BEFORE) cJSON_AddStringToObject(o, "reset", "before");
    if (f->effect == SIM_FX_RESET_AFTER) cJSON_AddStringToObject(o, "reset", "after");
    if (f->effect == SIM_FX_HANG) cJSON_AddTrueToObject(o, "hang");
    if (f->effect == SIM_FX_TRUNCATE) cJSON_AddTrueToObject(o, "truncate");
    if (f->effect == SIM_FX_MALFORMED) cJSON_AddTrueToObject(o, "malformed_json");
    if (f->effect == SIM_FX_HUGE) cJSON_AddNumberToObject(o, "huge_body", (double)f->huge_body);
    if (f->apply) cJSON_AddTrueToObject(o, "apply");
    cJSON_AddItemToArray(arr, o);
  }
  return arr;
}

bool sim_faults_delete(long id) {
  for (sim_fault **pp = &faults; *pp; pp = &(*pp)->next) {
    if ((*pp)->id == id) {
      unlink_fault(pp);
      return true;
    }
  }
  return false;
}

void sim_faults_clear(void) {
  while (faults) unlink_fault(&faults);
  faults_tail = &faults;
}

int sim_faults_boot(const cJSON *fault_args, char *err, size_t errlen) {
  cJSON_Delete(boot_faults);
  boot_faults = cJSON_Duplicate(fault_args, 1);
  const cJSON *it;
  cJSON_ArrayForEach(it, boot_faults) if (add_one(it, NULL, err, errlen)) return -1;
  return 0;
}

void sim_faults_restore_boot(void) {
  char err[160];
  sim_faults_clear();
  const cJSON *it;
  cJSON_ArrayForEach(it, boot_faults) add_one(it, NULL, err, sizeof err);
}

void sim_faults_free(void) {
  sim_faults_clear();
  cJSON_Delete(boot_faults);
  boot_faults = NULL;
}
