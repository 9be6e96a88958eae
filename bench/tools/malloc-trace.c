/*
 * Logs every malloc/calloc/realloc of 64 KiB or more (kind, size, thread id, return addresses) to $MT_LOG, for
 * finding what fills glibc's malloc arenas (docs/benchmarks.md, session 7: typed-array backing stores are calloc'd).
 * Linux/glibc only; the node binary is not position-independent, so `gdb -batch -ex 'info symbol 0x...' $(which node)`
 * names the native frames. Large typed arrays come from JS: wrap the typed-array constructors to name their callers.
 *
 *   gcc -O2 -shared -fPIC -o /tmp/malloc-trace.so bench/tools/malloc-trace.c
 *   MT_LOG=/tmp/mt.log LD_PRELOAD=/tmp/malloc-trace.so node --import tsx bench/cost-run.ts kindling pagerank
 *   awk '{split($3, t, "="); n[t[2]]++; b[t[2]] += $2} END {for (k in n) print k, n[k], b[k] / 1048576 " MB"}' /tmp/mt.log
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdlib.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <execinfo.h>
#include <string.h>
#include <fcntl.h>
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
static int fd = -1;
static __thread int busy = 0;
static void logit(const char *kind, size_t sz) {
  if (sz < 65536 || busy) return;
  busy = 1;
  if (fd < 0) { char *p = getenv("MT_LOG"); fd = open(p ? p : "/tmp/malloc-trace.log", O_WRONLY|O_CREAT|O_APPEND, 0644); }
  void *bt[12]; int n = backtrace(bt, 12);
  char buf[512]; int len = snprintf(buf, sizeof buf, "%s %zu tid=%ld", kind, sz, (long)syscall(SYS_gettid));
  for (int i = 2; i < n && len < 480; i++) len += snprintf(buf + len, sizeof buf - len, " %p", bt[i]);
  buf[len++] = '\n';
  write(fd, buf, len);
  busy = 0;
}
void *malloc(size_t s) { logit("m", s); return __libc_malloc(s); }
void *calloc(size_t a, size_t b) { logit("c", a*b); return __libc_calloc(a, b); }
void *realloc(void *p, size_t s) { logit("r", s); return __libc_realloc(p, s); }
