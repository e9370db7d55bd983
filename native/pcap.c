// SPDX-License-Identifier: BSD-3-Clause
// tspcapd's libpcap binding (src/pcapd/live.ts is its JS side): live capture in non-blocking mode, drained by
// the caller's timer into a buffer of classic pcap records, and BPF filters compiled for a link type and run on
// packets read from capture files.
//
//   open(interface, snaplen, promisc, filter) → handle  (throws with libpcap's message)
//   datalink(handle) → link type
//   poll(handle, out: Uint8Array) → bytes written: records of 16 bytes (sec, µs, caplen, wire length; little-
//                                    endian) + caplen bytes, as many as fit
//   stats(handle) → [received, dropped, dropped by the interface]
//   close(handle)
//   compile(expression, linktype, snaplen) → filter  (throws on a syntax error)
//   match(filter, data: Uint8Array, offset, caplen, wireLength) → boolean
//   free(filter)

#define NAPI_VERSION 8
#include <node_api.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(call)                                                                                            \
  do {                                                                                                         \
    if ((call) != napi_ok) {                                                                                   \
      napi_throw_error(env, NULL, "tsflow_pcap: " #call " failed");                                           \
      return NULL;                                                                                             \
    }                                                                                                          \
  } while (0)

typedef struct {
  pcap_t *p;
} live_t;

typedef struct {
  struct bpf_program prog;
} filter_t;

static napi_value fail(napi_env env, const char *what, const char *detail) {
  char msg[1024];
  snprintf(msg, sizeof msg, "%s: %s", what, detail);
  napi_throw_error(env, NULL, msg);
  return NULL;
}

static int get_string(napi_env env, napi_value v, char **out) {
  size_t len;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return -1;
  *out = malloc(len + 1);
  if (*out == NULL) return -1;
  if (napi_get_value_string_utf8(env, v, *out, len + 1, &len) != napi_ok) {
    free(*out);
    return -1;
  }
  return 0;
}

static void *get_pointer(napi_env env, napi_value v) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok) return NULL;
  return p;
}

static napi_value open_live(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 4) return fail(env, "open", "want (interface, snaplen, promisc, filter)");
  char *dev = NULL, *expr = NULL;
  int32_t snaplen;
  bool promisc;
  if (get_string(env, argv[0], &dev) != 0) return fail(env, "open", "bad interface name");
  if (napi_get_value_int32(env, argv[1], &snaplen) != napi_ok || napi_get_value_bool(env, argv[2], &promisc) != napi_ok ||
      get_string(env, argv[3], &expr) != 0) {
    free(dev);
    return fail(env, "open", "bad arguments");
  }
  char err[PCAP_ERRBUF_SIZE] = "";
  pcap_t *p = pcap_create(dev, err);
  char where[300];
  snprintf(where, sizeof where, "%s", dev);
  free(dev);
  if (p == NULL) {
    free(expr);
    return fail(env, where, err);
  }
  pcap_set_snaplen(p, snaplen);
  pcap_set_promisc(p, promisc ? 1 : 0);
  pcap_set_timeout(p, 100);
  pcap_set_immediate_mode(p, 1);
  pcap_set_buffer_size(p, 16 * 1024 * 1024);
  int rc = pcap_activate(p);
  if (rc < 0) {
    char msg[PCAP_ERRBUF_SIZE + 64];
    snprintf(msg, sizeof msg, "%s", pcap_geterr(p));
    if (msg[0] == '\0') snprintf(msg, sizeof msg, "%s", pcap_statustostr(rc));
    pcap_close(p);
    free(expr);
    return fail(env, where, msg);
  }
  if (pcap_setnonblock(p, 1, err) != 0) {
    pcap_close(p);
    free(expr);
    return fail(env, where, err);
  }
  if (expr[0] != '\0') {
    struct bpf_program prog;
    if (pcap_compile(p, &prog, expr, 1, PCAP_NETMASK_UNKNOWN) != 0 || pcap_setfilter(p, &prog) != 0) {
      char msg[PCAP_ERRBUF_SIZE + 64];
      snprintf(msg, sizeof msg, "filter: %s", pcap_geterr(p));
      pcap_close(p);
      free(expr);
      return fail(env, where, msg);
    }
    pcap_freecode(&prog);
  }
  free(expr);
  live_t *l = malloc(sizeof *l);
  if (l == NULL) {
    pcap_close(p);
    return fail(env, where, "out of memory");
  }
  l->p = p;
  napi_value out;
  CHECK(napi_create_external(env, l, NULL, NULL, &out));
  return out;
}

static live_t *live_arg(napi_env env, napi_callback_info info, napi_value *argv, size_t want) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != want) return NULL;
  live_t *l = get_pointer(env, argv[0]);
  return l != NULL && l->p != NULL ? l : NULL;
}

static napi_value datalink(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  live_t *l = live_arg(env, info, argv, 1);
  if (l == NULL) return fail(env, "datalink", "closed handle");
  napi_value out;
  CHECK(napi_create_int32(env, pcap_datalink(l->p), &out));
  return out;
}

static void put32(uint8_t *b, uint32_t x) {
  b[0] = x & 0xff;
  b[1] = (x >> 8) & 0xff;
  b[2] = (x >> 16) & 0xff;
  b[3] = (x >> 24) & 0xff;
}

static napi_value poll_live(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  live_t *l = live_arg(env, info, argv, 2);
  if (l == NULL) return fail(env, "poll", "closed handle");
  napi_typedarray_type type;
  size_t length;
  void *data;
  CHECK(napi_get_typedarray_info(env, argv[1], &type, &length, &data, NULL, NULL));
  if (type != napi_uint8_array) return fail(env, "poll", "want a Uint8Array");
  uint8_t *out = data;
  size_t used = 0;
  int snap = pcap_snapshot(l->p);
  while (used + 16 + (size_t)snap <= length) {
    struct pcap_pkthdr *h;
    const u_char *bytes;
    int rc = pcap_next_ex(l->p, &h, &bytes);
    if (rc == 0) break;
    if (rc < 0) return fail(env, "poll", pcap_geterr(l->p));
    uint32_t cap = h->caplen > (uint32_t)snap ? (uint32_t)snap : h->caplen;
    put32(out + used, (uint32_t)h->ts.tv_sec);
    put32(out + used + 4, (uint32_t)h->ts.tv_usec);
    put32(out + used + 8, cap);
    put32(out + used + 12, h->len);
    memcpy(out + used + 16, bytes, cap);
    used += 16 + cap;
  }
  napi_value r;
  CHECK(napi_create_uint32(env, (uint32_t)used, &r));
  return r;
}

static napi_value stats_live(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  live_t *l = live_arg(env, info, argv, 1);
  if (l == NULL) return fail(env, "stats", "closed handle");
  struct pcap_stat s;
  memset(&s, 0, sizeof s);
  pcap_stats(l->p, &s);
  napi_value arr, v;
  CHECK(napi_create_array_with_length(env, 3, &arr));
  uint32_t vals[3] = {s.ps_recv, s.ps_drop, s.ps_ifdrop};
  for (uint32_t i = 0; i < 3; i++) {
    CHECK(napi_create_uint32(env, vals[i], &v));
    CHECK(napi_set_element(env, arr, i, v));
  }
  return arr;
}

static napi_value close_live(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  live_t *l = live_arg(env, info, argv, 1);
  if (l != NULL) {
    pcap_close(l->p);
    l->p = NULL;
  }
  return NULL;
}

static napi_value compile_filter(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char *expr = NULL;
  int32_t link, snaplen;
  if (argc != 3 || get_string(env, argv[0], &expr) != 0) return fail(env, "filter", "want (expression, linktype, snaplen)");
  if (napi_get_value_int32(env, argv[1], &link) != napi_ok || napi_get_value_int32(env, argv[2], &snaplen) != napi_ok) {
    free(expr);
    return fail(env, "filter", "bad link type or snaplen");
  }
  pcap_t *dead = pcap_open_dead(link, snaplen);
  if (dead == NULL) {
    free(expr);
    return fail(env, "filter", "pcap_open_dead failed");
  }
  filter_t *f = malloc(sizeof *f);
  if (f == NULL || pcap_compile(dead, &f->prog, expr, 1, PCAP_NETMASK_UNKNOWN) != 0) {
    char msg[PCAP_ERRBUF_SIZE + 64];
    snprintf(msg, sizeof msg, "%s", f == NULL ? "out of memory" : pcap_geterr(dead));
    free(f);
    free(expr);
    pcap_close(dead);
    return fail(env, "filter", msg);
  }
  free(expr);
  pcap_close(dead);
  napi_value out;
  CHECK(napi_create_external(env, f, NULL, NULL, &out));
  return out;
}

static napi_value match_filter(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  filter_t *f = argc == 5 ? get_pointer(env, argv[0]) : NULL;
  if (f == NULL) return fail(env, "match", "bad filter");
  napi_typedarray_type type;
  size_t length;
  void *data;
  uint32_t off, cap, wire;
  CHECK(napi_get_typedarray_info(env, argv[1], &type, &length, &data, NULL, NULL));
  CHECK(napi_get_value_uint32(env, argv[2], &off));
  CHECK(napi_get_value_uint32(env, argv[3], &cap));
  CHECK(napi_get_value_uint32(env, argv[4], &wire));
  if (type != napi_uint8_array || (size_t)off + cap > length) return fail(env, "match", "packet outside the buffer");
  struct pcap_pkthdr h;
  memset(&h, 0, sizeof h);
  h.caplen = cap;
  h.len = wire;
  int ok = pcap_offline_filter(&f->prog, &h, (const u_char *)data + off);
  napi_value r;
  CHECK(napi_get_boolean(env, ok != 0, &r));
  return r;
}

static napi_value free_filter(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  filter_t *f = argc == 1 ? get_pointer(env, argv[0]) : NULL;
  if (f != NULL && f->prog.bf_insns != NULL) {
    pcap_freecode(&f->prog);
    f->prog.bf_insns = NULL;
  }
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, open_live, NULL, NULL, NULL, napi_default, NULL},
      {"datalink", NULL, datalink, NULL, NULL, NULL, napi_default, NULL},
      {"poll", NULL, poll_live, NULL, NULL, NULL, napi_default, NULL},
      {"stats", NULL, stats_live, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, close_live, NULL, NULL, NULL, napi_default, NULL},
      {"compile", NULL, compile_filter, NULL, NULL, NULL, napi_default, NULL},
      {"match", NULL, match_filter, NULL, NULL, NULL, napi_default, NULL},
      {"free", NULL, free_filter, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
