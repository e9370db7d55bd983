// SPDX-License-Identifier: BSD-3-Clause
// tscapd's native receive path (src/capd/native-receiver.ts is its JS side): UDP sockets owned by one pthread
// that takes datagrams with recvmmsg (up to BATCH per system call) and copies each one straight into the
// receive ring (src/capd/ring.ts) — the record layout, the in-band ADDRESS records that define exporter ids,
// the WRAP word and the full-ring rule are exactly RingProducer's. Senders outside the allow-list are counted
// and never copied.
//
// Why native: node:dgram costs a Buffer, an rinfo object, an address string and a JS callback per datagram;
// recvmmsg and a memcpy cost a fraction of that (docs/benchmarks.md, ingest).
//
// The consumer (the decode thread) sleeps in Atomics.waitAsync, which only a JS thread can end (V8 emulates
// futexes), so when it has said it sleeps (control[SLEEP]) this thread asks the main thread, through a
// thread-safe function, to Atomics.notify it. The same function carries the rate-limited "queue full" event.

#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <node_api.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

// ---- the ring (ring.ts) ----
#define CTL_W 0
#define CTL_R 1
#define CTL_SLEEP 2
#define HEADER 20
#define WRAP (-1)
#define RECORD_DATAGRAM 0
#define RECORD_ADDRESS 1
#define MAX_EXPORTER_IDS 4096 // ring.ts MAX_EXPORTER_IDS

// ---- receiving ----
#define BATCH 64
#define DGRAM_MAX 65536
#define MAX_SOCKETS 2
/** batches taken from one socket before looking at the others (and the wake-up fd) again */
#define ROUNDS 16
#define TABLE_SIZE 8192 // > 1.5 × MAX_EXPORTER_IDS, a power of 2
#define DROP_LOG_MS 10000
/**
 * After a round that found less than half a batch, wait this long before polling again: the kernel buffer
 * gathers the next datagrams meanwhile, so each poll/recvmmsg takes many instead of one or two. Waking a
 * thread per datagram is what costs (system time, receiver and sender together; docs/benchmarks.md). A
 * millisecond of datagrams at high rates is far below what the socket buffer holds. TSCAPD_RECV_NAP_US overrides it (0: none).
 */
#define NAP_US 1000

// events for the main thread: 0 wakes the consumer; n > 0: the ring is full, n datagrams dropped so far
#define EVENT_WAKE 0

/** An exporter address as the socket reports it: family, 16 address bytes (IPv4: the first 4), scope id. */
typedef struct {
  uint32_t family;
  uint32_t scope;
  uint8_t addr[16];
} key_t_;

typedef struct {
  key_t_ key;
  int32_t id; // exporter id in the ring, or -1: not allowed
  uint8_t used;
} entry_t;

typedef struct {
  uint8_t v6;
  uint8_t len;
  uint8_t addr[16];
} prefix_t;

typedef struct {
  int fds[MAX_SOCKETS];
  int nfds;
  int wakefd;
  pthread_t thread;
  int running;
  int closed;

  int32_t *control;
  uint8_t *data;
  uint32_t size;
  uint32_t w;
  napi_ref control_ref;
  napi_ref data_ref;
  napi_threadsafe_function tsfn;

  prefix_t *allow;   // --allow
  int nallow;
  prefix_t *sources; // the -n sources' prefixes (empty: every exporter has a source)
  int nsources;

  entry_t *table;
  int entries;
  int next_id;
  key_t_ last_key;
  int32_t last_id; // -2: none
  int nap_us;

  uint64_t datagrams;
  uint64_t dropped;
  uint64_t not_allowed;
  uint64_t batches; // recvmmsg calls that returned datagrams
  uint64_t wakes;   // consumer wake-ups asked of the main thread
  int64_t drop_logged;

  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  struct sockaddr_storage from[BATCH];
  uint8_t *buffers; // BATCH × DGRAM_MAX
} receiver_t;

// ---- small helpers ----

static void count(uint64_t *c, uint64_t n) { __atomic_store_n(c, *c + n, __ATOMIC_RELAXED); }

static uint32_t hash_key(const key_t_ *k) {
  uint32_t h = 2166136261u ^ k->family ^ (k->scope * 16777619u);
  for (int i = 0; i < 16; i++) h = (h ^ k->addr[i]) * 16777619u;
  return h;
}

static int prefix_match(const prefix_t *p, int n, int v6, const uint8_t *addr) {
  for (int i = 0; i < n; i++) {
    if (p[i].v6 != v6) continue;
    int bits = p[i].len, k = 0;
    for (; bits >= 8; bits -= 8, k++)
      if (p[i].addr[k] != addr[k]) break;
    if (bits >= 8) continue;
    if (bits == 0 || ((p[i].addr[k] ^ addr[k]) & (uint8_t)(0xff << (8 - bits))) == 0) return 1;
  }
  return 0;
}

/** The collector's rule (collector.ts checkAllowed + route): IPv4-mapped IPv6 senders count as IPv4. */
static int allowed(const receiver_t *r, const key_t_ *k) {
  if (r->nallow == 0 && r->nsources == 0) return 1;
  static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  int v6 = k->family == AF_INET6;
  const uint8_t *addr = k->addr;
  if (v6 && memcmp(addr, mapped, 12) == 0) {
    v6 = 0;
    addr += 12;
  }
  if (r->nallow > 0 && !prefix_match(r->allow, r->nallow, v6, addr)) return 0;
  if (r->nsources > 0 && !prefix_match(r->sources, r->nsources, v6, addr)) return 0;
  return 1;
}

/** The address as Node reports it (libuv's inet_ntop, "%ifname" after a link-local IPv6 address). */
static int format_address(const key_t_ *k, char *out, size_t n) {
  if (k->family == AF_INET) {
    if (!inet_ntop(AF_INET, k->addr, out, n)) return 0;
    return (int)strlen(out);
  }
  if (!inet_ntop(AF_INET6, k->addr, out, n)) return 0;
  size_t len = strlen(out);
  if (k->addr[0] == 0xfe && (k->addr[1] & 0xc0) == 0x80 && k->scope > 0 && len + 1 + IF_NAMESIZE < n) {
    out[len] = '%';
    if (if_indextoname(k->scope, out + len + 1) == NULL) snprintf(out + len + 1, n - len - 1, "%u", k->scope);
    len = strlen(out);
  }
  return (int)len;
}

// ---- the producer side of the ring (RingProducer) ----

/** Offset for a record of `need` bytes, or -1 when the ring is full; writes the WRAP word when it goes to 0. */
static int64_t reserve(receiver_t *r, uint32_t need) {
  uint32_t w = r->w;
  uint32_t rd = (uint32_t)__atomic_load_n(&r->control[CTL_R], __ATOMIC_ACQUIRE);
  if (w >= rd) {
    if (r->size - w >= need + 4) return w;
    if (rd > need) {
      ((int32_t *)r->data)[w >> 2] = WRAP;
      return 0;
    }
    return -1;
  }
  return rd - w > need ? (int64_t)w : -1;
}

static void notify_main(receiver_t *r, intptr_t event) {
  napi_call_threadsafe_function(r->tsfn, (void *)(intptr_t)event, napi_tsfn_nonblocking);
}

/** Makes what was written visible (one store per batch) and wakes the consumer when it sleeps. */
static void publish(receiver_t *r) {
  __atomic_store_n(&r->control[CTL_W], (int32_t)r->w, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&r->control[CTL_SLEEP], __ATOMIC_SEQ_CST) != 0 &&
      __atomic_exchange_n(&r->control[CTL_SLEEP], 0, __ATOMIC_SEQ_CST) != 0) {
    count(&r->wakes, 1);
    notify_main(r, EVENT_WAKE);
  }
}

/** The exporter id of a sender (defining it in the ring when new); -1 not allowed, -2 ring full. */
static int32_t exporter_id(receiver_t *r, const key_t_ *k) {
  if (r->last_id != -2 && memcmp(k, &r->last_key, sizeof *k) == 0) return r->last_id;
  uint32_t mask = TABLE_SIZE - 1;
  uint32_t at = hash_key(k) & mask;
  while (r->table[at].used && memcmp(&r->table[at].key, k, sizeof *k) != 0) at = (at + 1) & mask;
  entry_t *e = &r->table[at];
  if (!e->used) {
    if (r->entries >= MAX_EXPORTER_IDS) {
      // ids are redefined in-band, in order (RingProducer does the same)
      memset(r->table, 0, sizeof(entry_t) * TABLE_SIZE);
      r->entries = 0;
      r->next_id = 0;
      r->last_id = -2;
      return exporter_id(r, k);
    }
    int32_t id = -1;
    if (allowed(r, k)) {
      char text[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
      int len = format_address(k, text, sizeof text);
      uint32_t need = HEADER + (((uint32_t)len + 3) & ~3u);
      int64_t pos = reserve(r, need);
      if (pos < 0) return -2;
      int32_t *words = (int32_t *)(r->data + pos);
      words[0] = len;
      words[1] = (RECORD_ADDRESS << 24) | r->next_id;
      memcpy(r->data + pos + HEADER, text, (size_t)len);
      r->w = (uint32_t)pos + need;
      id = r->next_id++;
    }
    e->used = 1;
    e->key = *k;
    e->id = id;
    r->entries++;
  }
  r->last_key = *k;
  r->last_id = e->id;
  return e->id;
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void take(receiver_t *r, int n) {
  int64_t now = now_ms();
  uint32_t w0 = r->w;
  uint64_t drops = 0, refused = 0;
  for (int i = 0; i < n; i++) {
    const struct sockaddr_storage *ss = &r->from[i];
    key_t_ k;
    memset(&k, 0, sizeof k);
    uint16_t port;
    if (ss->ss_family == AF_INET) {
      const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
      k.family = AF_INET;
      memcpy(k.addr, &a->sin_addr, 4);
      port = ntohs(a->sin_port);
    } else {
      const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
      k.family = AF_INET6;
      k.scope = a->sin6_scope_id;
      memcpy(k.addr, &a->sin6_addr, 16);
      port = ntohs(a->sin6_port);
    }
    int32_t id = exporter_id(r, &k);
    if (id == -1) {
      refused++;
      continue;
    }
    uint32_t len = r->msgs[i].msg_len;
    uint32_t need = HEADER + ((len + 3) & ~3u);
    int64_t pos = id < 0 ? -1 : reserve(r, need);
    if (pos < 0) {
      drops++;
      // the log line comes at most every 10 s, with the count as of this datagram (the main thread prints it)
      if (now - r->drop_logged >= DROP_LOG_MS) {
        r->drop_logged = now;
        notify_main(r, (intptr_t)(r->dropped + drops));
      }
      continue;
    }
    int32_t *words = (int32_t *)(r->data + pos);
    words[0] = (int32_t)len;
    words[1] = (RECORD_DATAGRAM << 24) | id;
    words[2] = port;
    words[3] = (int32_t)(uint32_t)(now & 0xffffffff);
    words[4] = (int32_t)(now >> 32);
    memcpy(r->data + pos + HEADER, r->buffers + (size_t)i * DGRAM_MAX, len);
    r->w = (uint32_t)pos + need;
  }
  if (r->w != w0) publish(r);
  count(&r->datagrams, (uint64_t)n);
  count(&r->batches, 1);
  if (refused) count(&r->not_allowed, refused);
  if (drops) count(&r->dropped, drops);
}

static void *run(void *arg) {
  receiver_t *r = arg;
  const int nap_us = r->nap_us;
  struct pollfd pfd[MAX_SOCKETS + 1];
  for (int i = 0; i < r->nfds; i++) pfd[i] = (struct pollfd){.fd = r->fds[i], .events = POLLIN};
  pfd[r->nfds] = (struct pollfd){.fd = r->wakefd, .events = POLLIN};
  for (;;) {
    int n = poll(pfd, (nfds_t)r->nfds + 1, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (pfd[r->nfds].revents) break; // close()
    int taken = 0;
    for (int s = 0; s < r->nfds; s++) {
      if (!pfd[s].revents) continue;
      for (int round = 0; round < ROUNDS; round++) {
        for (int i = 0; i < BATCH; i++) r->msgs[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_storage);
        int got = recvmmsg(r->fds[s], r->msgs, BATCH, MSG_DONTWAIT, NULL);
        if (got < 0) {
          if (errno == EINTR) continue;
          break; // EAGAIN, or an error queued on the socket (read and cleared by this call)
        }
        take(r, got);
        taken += got;
        if (got < BATCH) break;
      }
    }
    if (nap_us > 0 && taken < BATCH / 2) usleep(nap_us);
  }
  return NULL;
}

// ---- Node-API ----

#define CHECK(call)                                                                                            \
  do {                                                                                                         \
    if ((call) != napi_ok) {                                                                                   \
      napi_throw_error(env, NULL, "tsflow_recv: " #call " failed");                                           \
      return NULL;                                                                                             \
    }                                                                                                          \
  } while (0)

static void stop_thread(receiver_t *r) {
  if (r->running) {
    uint64_t one = 1;
    ssize_t ignored = write(r->wakefd, &one, sizeof one);
    (void)ignored;
    pthread_join(r->thread, NULL);
    r->running = 0;
  }
}

static void close_all(receiver_t *r) {
  if (r->closed) return;
  r->closed = 1;
  stop_thread(r);
  for (int i = 0; i < r->nfds; i++) close(r->fds[i]);
  r->nfds = 0;
  if (r->wakefd >= 0) close(r->wakefd);
  r->wakefd = -1;
}

static void cleanup_hook(void *arg) { close_all(arg); }

static void finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  receiver_t *r = data;
  close_all(r);
  napi_remove_env_cleanup_hook(env, cleanup_hook, r);
  if (r->control_ref) napi_delete_reference(env, r->control_ref);
  if (r->data_ref) napi_delete_reference(env, r->data_ref);
  free(r->allow);
  free(r->sources);
  free(r->table);
  free(r->buffers);
  free(r);
}

static void call_js(napi_env env, napi_value fn, void *context, void *data) {
  (void)context;
  if (env == NULL || fn == NULL) return;
  napi_value undefined, arg;
  napi_get_undefined(env, &undefined);
  napi_create_double(env, (double)(intptr_t)data, &arg);
  napi_call_function(env, undefined, fn, 1, &arg, NULL);
}

static receiver_t *get_receiver(napi_env env, napi_value v) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || p == NULL) {
    napi_throw_type_error(env, NULL, "tsflow_recv: not a receiver");
    return NULL;
  }
  return p;
}

/** Prefixes from a Uint8Array of 18-byte entries (v6, length, 16 address bytes). */
static int read_prefixes(napi_env env, napi_value v, prefix_t **out, int *n) {
  napi_typedarray_type type;
  size_t len;
  void *data;
  if (napi_get_typedarray_info(env, v, &type, &len, &data, NULL, NULL) != napi_ok || type != napi_uint8_array ||
      len % 18 != 0)
    return 0;
  *n = (int)(len / 18);
  *out = calloc((size_t)*n + 1, sizeof(prefix_t));
  if (*out == NULL) return 0;
  const uint8_t *b = data;
  for (int i = 0; i < *n; i++) {
    (*out)[i].v6 = b[18 * i];
    (*out)[i].len = b[18 * i + 1];
    memcpy((*out)[i].addr, b + 18 * i + 2, 16);
  }
  return 1;
}

/** create(control: Int32Array, data: Int32Array, allow: Uint8Array, sources: Uint8Array, onEvent) */
static napi_value create(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 5) {
    napi_throw_type_error(env, NULL, "tsflow_recv: create wants 5 arguments");
    return NULL;
  }
  receiver_t *r = calloc(1, sizeof *r);
  if (r == NULL) {
    napi_throw_error(env, NULL, "tsflow_recv: out of memory");
    return NULL;
  }
  r->wakefd = -1;
  r->last_id = -2;
  napi_typedarray_type type;
  size_t len;
  void *p;
  if (napi_get_typedarray_info(env, argv[0], &type, &len, &p, NULL, NULL) != napi_ok || type != napi_int32_array ||
      len < 4) {
    free(r);
    napi_throw_type_error(env, NULL, "tsflow_recv: control must be an Int32Array of 4 words");
    return NULL;
  }
  r->control = p;
  if (napi_get_typedarray_info(env, argv[1], &type, &len, &p, NULL, NULL) != napi_ok || type != napi_int32_array ||
      len < 16384 || len > (1u << 29)) {
    free(r);
    napi_throw_type_error(env, NULL, "tsflow_recv: data must be an Int32Array of 64 KiB to 2 GiB");
    return NULL;
  }
  r->data = p;
  r->size = (uint32_t)(len * 4);
  r->w = (uint32_t)__atomic_load_n(&r->control[CTL_W], __ATOMIC_ACQUIRE);
  r->table = calloc(TABLE_SIZE, sizeof(entry_t));
  r->buffers = malloc((size_t)BATCH * DGRAM_MAX);
  if (r->table == NULL || r->buffers == NULL || !read_prefixes(env, argv[2], &r->allow, &r->nallow) ||
      !read_prefixes(env, argv[3], &r->sources, &r->nsources)) {
    free(r->table);
    free(r->buffers);
    free(r->allow);
    free(r->sources);
    free(r);
    napi_throw_type_error(env, NULL, "tsflow_recv: bad allow-list");
    return NULL;
  }
  for (int i = 0; i < BATCH; i++) {
    r->iov[i].iov_base = r->buffers + (size_t)i * DGRAM_MAX;
    r->iov[i].iov_len = DGRAM_MAX;
    r->msgs[i].msg_hdr.msg_iov = &r->iov[i];
    r->msgs[i].msg_hdr.msg_iovlen = 1;
    r->msgs[i].msg_hdr.msg_name = &r->from[i];
  }
  napi_value result, name;
  // the typed arrays stay referenced (the SharedArrayBuffers with them) while the thread writes into them
  CHECK(napi_create_reference(env, argv[0], 1, &r->control_ref));
  CHECK(napi_create_reference(env, argv[1], 1, &r->data_ref));
  CHECK(napi_create_string_utf8(env, "tsflow_recv", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_create_threadsafe_function(env, argv[4], NULL, name, 0, 1, NULL, NULL, NULL, call_js, &r->tsfn));
  CHECK(napi_unref_threadsafe_function(env, r->tsfn)); // it never keeps the process alive
  r->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  // read here, on the main thread (getenv is not safe against a concurrent setenv)
  const char *nap = getenv("TSCAPD_RECV_NAP_US");
  r->nap_us = nap ? atoi(nap) : NAP_US;
  if (r->nap_us < 0 || r->nap_us > 100000) r->nap_us = NAP_US;
  CHECK(napi_add_env_cleanup_hook(env, cleanup_hook, r));
  CHECK(napi_create_external(env, r, finalize, NULL, &result));
  return result;
}

/** bind(r, family 4|6, address, port, v6only): 0, or a negative errno (socket or bind). */
static napi_value bind_socket(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5], result;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  receiver_t *r = get_receiver(env, argv[0]);
  if (r == NULL) return NULL;
  int32_t family, port;
  bool v6only;
  char address[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  size_t alen;
  CHECK(napi_get_value_int32(env, argv[1], &family));
  CHECK(napi_get_value_string_utf8(env, argv[2], address, sizeof address, &alen));
  CHECK(napi_get_value_int32(env, argv[3], &port));
  CHECK(napi_get_value_bool(env, argv[4], &v6only));
  int err = 0;
  if (r->nfds >= MAX_SOCKETS || r->running || r->closed) err = EINVAL;
  struct sockaddr_storage ss;
  socklen_t sl = 0;
  memset(&ss, 0, sizeof ss);
  if (!err && family == 4) {
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, address, &a->sin_addr) != 1) err = EINVAL;
    sl = sizeof *a;
  } else if (!err) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    char *pct = strchr(address, '%');
    if (pct != NULL) {
      *pct = 0;
      a->sin6_scope_id = if_nametoindex(pct + 1);
    }
    if (inet_pton(AF_INET6, address, &a->sin6_addr) != 1) err = EINVAL;
    sl = sizeof *a;
  }
  int fd = -1;
  if (!err) {
    fd = socket(family == 4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) err = errno;
  }
  if (!err && family == 6 && v6only) {
    int yes = 1;
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &yes, sizeof yes) != 0) err = errno;
  }
  if (!err && bind(fd, (struct sockaddr *)&ss, sl) != 0) err = errno;
  if (err) {
    if (fd >= 0) close(fd);
  } else {
    r->fds[r->nfds++] = fd;
  }
  CHECK(napi_create_int32(env, -err, &result));
  return result;
}

static int socket_at(napi_env env, napi_value *argv, receiver_t **r) {
  int32_t i;
  *r = get_receiver(env, argv[0]);
  if (*r == NULL || napi_get_value_int32(env, argv[1], &i) != napi_ok || i < 0 || i >= (*r)->nfds) return -1;
  return (*r)->fds[i];
}

/** setRecvBuffer(r, socket index, bytes): 0 or a negative errno */
static napi_value set_recv_buffer(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], result;
  receiver_t *r;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int fd = socket_at(env, argv, &r);
  int32_t bytes;
  CHECK(napi_get_value_int32(env, argv[2], &bytes));
  int err = fd < 0 ? EBADF : setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes) != 0 ? errno : 0;
  CHECK(napi_create_int32(env, -err, &result));
  return result;
}

/** recvBuffer(r, socket index): SO_RCVBUF as the kernel reports it (Linux: twice the grant) */
static napi_value recv_buffer(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result;
  receiver_t *r;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int fd = socket_at(env, argv, &r);
  int value = 0;
  socklen_t sl = sizeof value;
  if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &value, &sl) != 0) value = -1;
  CHECK(napi_create_int32(env, value, &result));
  return result;
}

/** address(r, socket index): [address, port] as bound */
static napi_value local_address(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result, a, p;
  receiver_t *r;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int fd = socket_at(env, argv, &r);
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  memset(&ss, 0, sizeof ss);
  char text[INET6_ADDRSTRLEN + IF_NAMESIZE + 2] = "";
  int port = 0;
  if (fd >= 0 && getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
    key_t_ k;
    memset(&k, 0, sizeof k);
    if (ss.ss_family == AF_INET) {
      k.family = AF_INET;
      memcpy(k.addr, &((struct sockaddr_in *)&ss)->sin_addr, 4);
      port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    } else {
      k.family = AF_INET6;
      k.scope = ((struct sockaddr_in6 *)&ss)->sin6_scope_id;
      memcpy(k.addr, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
      port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    format_address(&k, text, sizeof text);
  }
  CHECK(napi_create_array_with_length(env, 2, &result));
  CHECK(napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &a));
  CHECK(napi_create_int32(env, port, &p));
  CHECK(napi_set_element(env, result, 0, a));
  CHECK(napi_set_element(env, result, 1, p));
  return result;
}

/** start(r): the receiving thread runs from here on */
static napi_value start(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  receiver_t *r = get_receiver(env, argv[0]);
  if (r == NULL) return NULL;
  if (r->running || r->closed || r->wakefd < 0) {
    napi_throw_error(env, NULL, "tsflow_recv: cannot start (closed or already running)");
    return NULL;
  }
  // every signal blocked on the receiving thread: they are Node's to handle, on its own threads
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int err = pthread_create(&r->thread, NULL, run, r);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (err != 0) {
    napi_throw_error(env, NULL, strerror(err));
    return NULL;
  }
  pthread_setname_np(r->thread, "tscapd-recv");
  r->running = 1;
  return NULL;
}

/** stats(r, out: Float64Array(5)): datagrams received, dropped (ring full), not allowed, batches, wake-ups */
static napi_value stats(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  receiver_t *r = get_receiver(env, argv[0]);
  if (r == NULL) return NULL;
  napi_typedarray_type type;
  size_t len;
  void *p;
  if (napi_get_typedarray_info(env, argv[1], &type, &len, &p, NULL, NULL) != napi_ok || type != napi_float64_array ||
      len < 5) {
    napi_throw_type_error(env, NULL, "tsflow_recv: stats wants a Float64Array(5)");
    return NULL;
  }
  double *out = p;
  out[0] = (double)__atomic_load_n(&r->datagrams, __ATOMIC_RELAXED);
  out[1] = (double)__atomic_load_n(&r->dropped, __ATOMIC_RELAXED);
  out[2] = (double)__atomic_load_n(&r->not_allowed, __ATOMIC_RELAXED);
  out[3] = (double)__atomic_load_n(&r->batches, __ATOMIC_RELAXED);
  out[4] = (double)__atomic_load_n(&r->wakes, __ATOMIC_RELAXED);
  return NULL;
}

/** close(r): stops the thread (at once: it waits in poll with the wake-up fd) and closes the sockets */
static napi_value close_receiver(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  receiver_t *r = get_receiver(env, argv[0]);
  if (r == NULL) return NULL;
  if (!r->closed) {
    close_all(r);
    napi_release_threadsafe_function(r->tsfn, napi_tsfn_release);
  }
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"create", NULL, create, NULL, NULL, NULL, napi_default, NULL},
      {"bind", NULL, bind_socket, NULL, NULL, NULL, napi_default, NULL},
      {"setRecvBuffer", NULL, set_recv_buffer, NULL, NULL, NULL, napi_default, NULL},
      {"recvBuffer", NULL, recv_buffer, NULL, NULL, NULL, napi_default, NULL},
      {"address", NULL, local_address, NULL, NULL, NULL, napi_default, NULL},
      {"start", NULL, start, NULL, NULL, NULL, napi_default, NULL},
      {"stats", NULL, stats, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, close_receiver, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}
