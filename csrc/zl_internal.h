/* zl_internal.h - declarations shared by the C core's files; not installed. */
#ifndef ZL_INTERNAL_H
#define ZL_INTERNAL_H
#include "zoomlive.h"

/* zl_buf.c */
int zl_buf_reserve(zl_buf *b, size_t extra);            /* 0 or -1 (ENOMEM) */
int zl_buf_add(zl_buf *b, const void *p, size_t n);     /* 0 or -1 */
#define zl_buf_addlit(b, s) zl_buf_add((b), (s), sizeof(s) - 1)
void zl_buf_reset(zl_buf *b);                           /* len = 0, keeps memory */

/* zl_rand.c: a per-process CSPRNG-seeded generator for boundaries and jitter */
uint64_t zl_rand64(void);
double zl_rand_unit(void);                              /* [0, 1) */
void zl_rand_boundary(char *out, size_t n);             /* n chars of [0-9A-Za-z] */

/* header value check: 1 when s has no CR, LF or NUL in its first n bytes */
int zl_header_safe(const char *s, size_t n);
int zl_open_multi(struct lua_State *L);   /* lzl_multi.c: sets core.multi */
int zl_open_url(struct lua_State *L);     /* lzl_url.c: sets core.url_parse */
/* lzoomlive.c: a string argument bound for a request line or header; one
 * holding a NUL byte is refused (it would be cut silently). opt: nil allowed */
const char *zl_check_cstr(struct lua_State *L, int i, int opt);
/* lzoomlive.c: reads timeout, connect_timeout (seconds), user_agent, cainfo,
 * capath, insecure, fresh_handles, max_body from the table at index t */
void zl_read_conn_options(struct lua_State *L, int t, zl_conn_options *o);
/* lzoomlive.c, shared with lzl_multi.c */
#define ZL_MAX_FIELDS 16
#define ZL_FORM_CTYPE_LEN (sizeof "multipart/form-data; boundary=" + ZL_BOUNDARY_LEN)
long zl_opt_seconds_ms(struct lua_State *L, int idx, long dflt);    /* nil -> dflt */
size_t zl_collect_fields(struct lua_State *L, int first, zl_field *f);  /* name, value, ... */
void zl_form_content_type(char *dst, const char *boundary);
int zl_push_response(struct lua_State *L, const zl_response *r);    /* the results of perform */
void zl_read_request_head(struct lua_State *L, zl_request *q);      /* args 2..4: method, url, token */
/* the name, value arguments from `first` on, encoded into out; sets q's body
 * and content type (kept in ctype, ZL_FORM_CTYPE_LEN bytes) */
void zl_read_form(struct lua_State *L, int first, zl_buf *out, zl_request *q, char *ctype);
/* a class: metatable `name` with the metamethods `meta` and `methods` as __index */
struct luaL_Reg;
void zl_new_class(struct lua_State *L, const char *name, const struct luaL_Reg *meta,
                  const struct luaL_Reg *methods);
#endif
