/* Server-to-Server OAuth: POST /oauth/token issues opaque bearer tokens;
 * /v2 calls are checked against them and the --token ones. */
#include "sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct sim_token {
  char value[65];
  double expires;
  struct sim_token *next;
} sim_token;

static sim_token *issued; /* guarded by sim_mutex */

void sim_oauth_reset(void) {
  while (issued) {
    sim_token *n = issued->next;
    free(issued);
    issued = n;
  }
}

static int b64val(int c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

/* Decode base64 into out (NUL-terminated); false if malformed or too long. */
static bool b64decode(const char *in, char *out, size_t cap) {
  size_t n = 0;
  unsigned acc = 0;
  int bits = 0;
  for (; *in && *in != '='; in++) {
    int v = b64val((unsigned char)*in);
    if (v < 0) return false;
    acc = (acc << 6) | (unsigned)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (n + 1 >= cap) return false;
      out[n++] = (char)((acc >> bits) & 0xff);
    }
  }
  out[n] = '\0';
  return memchr(out, '\0', n) == NULL;
}

static void oauth_error(sim_resp *r, unsigned status, int code, const char *error,
                        const char *reason) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "reason", reason);
  cJSON_AddStringToObject(o, "error", error);
  cJSON_AddNumberToObject(o, "code", code);
  cJSON_AddStringToObject(o, "message", reason);
  sim_resp_json(r, status, o);
}

static const char *param(sim_req *q, const char *name) {
  const sim_part *p = sim_req_part(q, name, NULL);
  if (p) return p->value ? p->value : "";
  return sim_req_query(q, name);
}

void sim_oauth_token(sim_req *q, sim_resp *r) {
  if (strcmp(q->method, "POST") != 0) {
    oauth_error(r, 405, 405, "invalid_request", "Method not allowed: use POST.");
    return;
  }
  if (q->body_len > 0 && q->kind != SIM_BODY_FORM && q->kind != SIM_BODY_URLENC) {
    oauth_error(r, 415, 415, "invalid_request",
                "Unsupported Content-Type: send application/x-www-form-urlencoded.");
    return;
  }
  if (q->body_error) {
    oauth_error(r, 400, 400, "invalid_request", q->body_problem);
    return;
  }
  char cred[512];
  const char *auth = q->authorization;
  if (!auth || strncasecmp(auth, "Basic ", 6) != 0 || !b64decode(auth + 6, cred, sizeof cred) ||
      !strchr(cred, ':')) {
    oauth_error(r, 401, 4704, "invalid_client", "Invalid client_id or client_secret");
    return;
  }
  char *secret = strchr(cred, ':');
  *secret++ = '\0';
  if (strcmp(cred, sim_boot.client_id) != 0) {
    oauth_error(r, 401, 4704, "invalid_client", "Invalid client_id or client_secret");
    return;
  }
  if (strcmp(secret, sim_boot.client_secret) != 0) {
    oauth_error(r, 401, 4702, "invalid_client", "Invalid client_id or client_secret");
    return;
  }
  const char *grant = param(q, "grant_type");
  if (!grant || strcmp(grant, "account_credentials") != 0) {
    oauth_error(r, 400, 4700, "unsupported_grant_type", "Unsupported grant type");
    return;
  }
  const char *account = param(q, "account_id");
  if (!account || !*account) {
    oauth_error(r, 400, 4706, "invalid_request", "Invalid request : account_id is missing");
    return;
  }
  if (strcmp(account, sim_boot.account_id) != 0) {
    oauth_error(r, 400, 4706, "invalid_request", "Invalid account_id");
    return;
  }

  sim_token *t = calloc(1, sizeof *t);
  if (!t) {
    sim_resp_error(r, 500, 500, "Out of memory.");
    return;
  }
  double now = sim_now();
  sim_lock();
  /* drop expired tokens; with --invalidate-old-tokens drop all of them */
  for (sim_token **pp = &issued; *pp;) {
    if (sim_cfg.invalidate_old_tokens || (*pp)->expires <= now) {
      sim_token *d = *pp;
      *pp = d->next;
      free(d);
    } else {
      pp = &(*pp)->next;
    }
  }
  sim_random_hex(t->value, 32);
  t->expires = now + sim_cfg.token_ttl;
  t->next = issued;
  issued = t;
  double ttl = sim_cfg.token_ttl;
  char value[sizeof t->value], api_url[sizeof sim_cfg.api_url];
  memcpy(value, t->value, sizeof value);
  memcpy(api_url, sim_cfg.api_url, sizeof api_url);
  sim_unlock();

  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "access_token", value);
  cJSON_AddStringToObject(o, "token_type", "bearer");
  cJSON_AddNumberToObject(o, "expires_in", ttl);
  cJSON_AddStringToObject(o, "scope",
                          "meeting:write:admin meeting:read:admin webinar:write:admin "
                          "webinar:read:admin");
  cJSON_AddStringToObject(o, "api_url", api_url);
  sim_resp_json(r, 200, o);
}

bool sim_oauth_bearer_ok(const char *authorization) {
  if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0) return false;
  const char *tok = authorization + 7;
  while (*tok == ' ') tok++;
  if (!*tok) return false;
  for (int i = 0; i < sim_cfg.ntokens; i++)
    if (strcmp(tok, sim_cfg.tokens[i]) == 0) return true;
  double now = sim_now();
  for (sim_token *t = issued; t; t = t->next)
    if (strcmp(tok, t->value) == 0) return t->expires > now;
  return false;
}
