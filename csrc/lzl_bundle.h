/* lzl_bundle.h - the Lua layer compiled into libzoomlive (the table is
 * generated at build time by cmake/embed_lua.cmake). Not installed. */
#ifndef LZL_BUNDLE_H
#define LZL_BUNDLE_H
#include <stddef.h>
typedef struct zl_bundled {
  const char *module; /* "zoomlive", "zoomlive.client", ... */
  const char *chunk;  /* "@zoomlive/client.lua": the name in tracebacks */
  const char *source;
  size_t len;
} zl_bundled;
extern const zl_bundled zl_bundle[]; /* ends with a NULL module */
#endif
