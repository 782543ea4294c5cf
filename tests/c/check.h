/* check.h - the smallest test harness: CHECK counts, DONE reports. */
#ifndef CHECK_H
#define CHECK_H
#include <stdio.h>
static int checks_run, checks_failed;
#define CHECK(cond)                                                            \
  do {                                                                         \
    checks_run++;                                                              \
    if (!(cond)) {                                                             \
      checks_failed++;                                                         \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                          \
  } while (0)
#define DONE() (printf("%d checks, %d failed\n", checks_run, checks_failed), checks_failed ? 1 : 0)
#endif
