// SPDX-License-Identifier: BSD-3-Clause
// The benchmarks' UDP sender (bench/replay.mjs is its JS side): a connected loopback socket and sendmmsg, up to
// BATCH datagrams per system call, taken from one buffer by offset and length.
//
// Why: node:dgram's send() costs a request object, a libuv write and a callback per datagram: at high rates
// the replay alone took a large share of the CPU away from the collector under test (docs/benchmarks.md, ingest). sendmmsg costs a fraction of that; the kernel's own work
// per datagram (on loopback it includes the delivery into the receiver's socket) is the same for both senders.
//
//   open(address: string, port, sendBufferBytes) → fd (throws: not a loopback address, socket error)
//   send(fd, data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, first, count) → datagrams sent
//     (the kernel refused the rest: ECONNREFUSED while nothing listens is counted by the caller as sent);
//     every offset + length is checked against data before anything is sent
//   close(fd)

#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define BATCH 64

#define CHECK(call)                                                                                            \
  do {                                                                                                         \
    if ((call) != napi_ok) {                                                                                   \
      napi_throw_error(env, NULL, "tsflow_send: " #call " failed");                                           \
      return NULL;                                                                                             \
    }                                                                                                          \
  } while (0)

static napi_value int_value(napi_env env, int64_t x) {
  napi_value v;
  if (napi_create_int64(env, x, &v) != napi_ok) return NULL;
  return v;
}

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[160];
  snprintf(msg, sizeof msg, "tsflow_send: %s: %s", what, strerror(err));
  napi_throw_error(env, NULL, msg);
  return NULL;
}

static napi_value open_socket(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char host[64];
  size_t hostLen;
  int32_t port, sndbuf;
  if (argc != 3 || napi_get_value_string_utf8(env, argv[0], host, sizeof host, &hostLen) != napi_ok ||
      napi_get_value_int32(env, argv[1], &port) != napi_ok || napi_get_value_int32(env, argv[2], &sndbuf) != napi_ok ||
      port <= 0 || port > 65535) {
    napi_throw_type_error(env, NULL, "tsflow_send: open(address, port, sendBufferBytes)");
    return NULL;
  }
  struct sockaddr_storage ss;
  socklen_t len;
  memset(&ss, 0, sizeof ss);
  struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
  if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
    // traffic to loopback only (127.0.0.0/8)
    if ((ntohl(s4->sin_addr.s_addr) >> 24) != 127) goto not_loopback;
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)port);
    len = sizeof *s4;
  } else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
    if (!IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr)) goto not_loopback;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons((uint16_t)port);
    len = sizeof *s6;
  } else {
    goto not_loopback;
  }
  int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  if (sndbuf > 0) (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  if (connect(fd, (struct sockaddr *)&ss, len) != 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "connect", err);
  }
  return int_value(env, fd);
not_loopback:
  napi_throw_error(env, NULL, "tsflow_send: the address must be a numeric loopback address");
  return NULL;
}

static int typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *length) {
  napi_typedarray_type type;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, length, data, &buffer, &offset) != napi_ok) return 0;
  return type == want;
}

static napi_value send_batch(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  int64_t first, count;
  void *data, *offs, *lens;
  size_t dataLen, offsLen, lensLen;
  if (argc != 6 || napi_get_value_int32(env, argv[0], &fd) != napi_ok ||
      !typed(env, argv[1], napi_uint8_array, &data, &dataLen) ||
      !typed(env, argv[2], napi_uint32_array, &offs, &offsLen) ||
      !typed(env, argv[3], napi_uint32_array, &lens, &lensLen) || offsLen != lensLen ||
      napi_get_value_int64(env, argv[4], &first) != napi_ok || napi_get_value_int64(env, argv[5], &count) != napi_ok ||
      first < 0 || count < 0 || (uint64_t)first + (uint64_t)count > offsLen) {
    napi_throw_type_error(env, NULL, "tsflow_send: send(fd, data, offsets, lengths, first, count)");
    return NULL;
  }
  const uint32_t *off = offs, *ln = lens;
  for (int64_t i = first; i < first + count; i++)
    if ((uint64_t)off[i] + ln[i] > dataLen) {
      napi_throw_range_error(env, NULL, "tsflow_send: a datagram lies outside the data");
      return NULL;
    }
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  int64_t sent = 0;
  while (sent < count) {
    int k = count - sent < BATCH ? (int)(count - sent) : BATCH;
    for (int j = 0; j < k; j++) {
      int64_t i = first + sent + j;
      iov[j].iov_base = (uint8_t *)data + off[i];
      iov[j].iov_len = ln[i];
      memset(&msgs[j].msg_hdr, 0, sizeof msgs[j].msg_hdr);
      msgs[j].msg_hdr.msg_iov = &iov[j];
      msgs[j].msg_hdr.msg_iovlen = 1;
    }
    int r = sendmmsg(fd, msgs, (unsigned)k, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      // ECONNREFUSED (nobody listens yet, or any more): the datagram is gone, as with node:dgram
      if (errno == ECONNREFUSED) {
        sent += 1;
        continue;
      }
      break;
    }
    sent += r;
  }
  return int_value(env, sent);
}

static napi_value close_socket(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  if (argc != 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, NULL, "tsflow_send: close(fd)");
    return NULL;
  }
  close(fd);
  return NULL;
}

NAPI_MODULE_INIT() {
  const struct {
    const char *name;
    napi_callback fn;
  } fns[] = {{"open", open_socket}, {"send", send_batch}, {"close", close_socket}};
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    CHECK(napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f));
    CHECK(napi_set_named_property(env, exports, fns[i].name, f));
  }
  return exports;
}
