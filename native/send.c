// SPDX-License-Identifier: BSD-3-Clause
// tsreplay's UDP sender (src/replay/send.ts), also used by the benchmarks (bench/replay.mjs): a connected socket
// and sendmmsg, up to BATCH datagrams per system call, taken from one buffer by offset and length.
//
// Why: node:dgram's send() costs a request object, a libuv write and a callback per datagram, which capped
// tsreplay's paced rate well below what a collector takes (docs/benchmarks.md); sendmmsg costs a fraction of
// that. The kernel's own work per datagram (on loopback it includes the delivery into the receiver's socket) is
// the same for both senders.
//
//   open(address: string, port, sendBufferBytes) → fd
//     address: a numeric IPv4 or IPv6 address (names are resolved by the caller); throws on a bad address and
//     on socket/connect errors (e.g. no route), naming the system call and the error
//   send(fd, data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, first, count) → datagrams taken
//     count is at most MAX_COUNT and every offset + length is checked against data before anything is sent.
//     Never blocks: returns fewer than count when the socket's buffer is full (EAGAIN, ENOBUFS; send the rest
//     later). A datagram refused with ECONNREFUSED (an ICMP port unreachable: nothing listens yet, or any more)
//     is counted as taken, lost as it is with node:dgram. Other errors throw (message names the error, `code`
//     its errno name) when nothing was sent by the call; after a partial send the next call meets them.
//   close(fd)
//
// And the counting receiver of the rate benchmark (bench/replay-rate.mjs), cheap enough not to take the CPU the
// sender under test needs (node:dgram costs a JS callback and a Buffer per datagram):
//   bindCounter(address, port, receiveBufferBytes) → fd
//     a UDP socket bound to the numeric address and port (0: any free one), the receive buffer forced to the size
//     asked when the process may (SO_RCVBUFFORCE), else as large as the system allows; arrival times are the
//     kernel's (SO_TIMESTAMPNS: when the datagram reached the socket, not when the counter got to run)
//   boundPort(fd) → port
//   count(fd, stats: Float64Array(3), waitMs) → datagrams counted by this call
//     receives (recvmmsg, only the first bytes of each datagram are copied) until nothing arrived for waitMs;
//     stats[0] += datagrams, stats[1] = arrival (ns, CLOCK_REALTIME) of the first datagram counted while
//     stats[0] was 0, stats[2] = arrival of the last one

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
#include <time.h>
#include <poll.h>
#include <unistd.h>

#define BATCH 64
// datagrams per send() call: bounds the time one call holds the event loop
#define MAX_COUNT 4096

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

static const char *errno_name(int err) {
  switch (err) {
    case ENETUNREACH: return "ENETUNREACH";
    case EHOSTUNREACH: return "EHOSTUNREACH";
    case EMSGSIZE: return "EMSGSIZE";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case EINVAL: return "EINVAL";
    case EBADF: return "EBADF";
    case ENOTSOCK: return "ENOTSOCK";
    default: return "EIO";
  }
}

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[160];
  snprintf(msg, sizeof msg, "tsflow_send: %s: %s", what, strerror(err));
  napi_throw_error(env, errno_name(err), msg);
  return NULL;
}

/*
 * The (address, port, bufferBytes) arguments of open and bindCounter: a numeric IPv4 or IPv6 address and a port
 * from minPort to 65535 into *ss. Returns 0 with a TypeError thrown when they are not that.
 */
static int endpoint_args(napi_env env, size_t argc, napi_value *argv, int32_t minPort, const char *usage,
                         struct sockaddr_storage *ss, socklen_t *len, int32_t *bufferBytes) {
  char host[64];
  size_t hostLen;
  int32_t port;
  if (argc != 3 || napi_get_value_string_utf8(env, argv[0], host, sizeof host, &hostLen) != napi_ok ||
      napi_get_value_int32(env, argv[1], &port) != napi_ok ||
      napi_get_value_int32(env, argv[2], bufferBytes) != napi_ok || port < minPort || port > 65535) {
    napi_throw_type_error(env, NULL, usage);
    return 0;
  }
  memset(ss, 0, sizeof *ss);
  struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
  if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)port);
    *len = sizeof *s4;
  } else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons((uint16_t)port);
    *len = sizeof *s6;
  } else {
    napi_throw_type_error(env, NULL, "tsflow_send: the address must be a numeric IPv4 or IPv6 address");
    return 0;
  }
  return 1;
}

static napi_value open_socket(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct sockaddr_storage ss;
  socklen_t len;
  int32_t sndbuf;
  if (!endpoint_args(env, argc, argv, 1, "tsflow_send: open(address, port, sendBufferBytes)", &ss, &len, &sndbuf))
    return NULL;
  int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  if (sndbuf > 0) (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  if (connect(fd, (struct sockaddr *)&ss, len) != 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "connect", err);
  }
  return int_value(env, fd);
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
      first < 0 || count < 0 || count > MAX_COUNT || (uint64_t)first + (uint64_t)count > offsLen) {
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
    int r = sendmmsg(fd, msgs, (unsigned)k, MSG_DONTWAIT);
    if (r < 0) {
      int err = errno;
      if (err == EINTR) continue;
      // ICMP port unreachable reported on this connected socket: the datagram is gone, as with node:dgram
      if (err == ECONNREFUSED) {
        sent += 1;
        continue;
      }
      // the socket's buffer is full: the caller sends the rest later
      if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) break;
      if (sent > 0) break;
      return throw_errno(env, "sendmmsg", err);
    }
    sent += r;
  }
  return int_value(env, sent);
}

/** The file descriptor that is a call's only argument; 0, with `usage` thrown, when it is not one. */
static int fd_only_arg(napi_env env, napi_callback_info info, const char *usage, int32_t *fd) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1 ||
      napi_get_value_int32(env, argv[0], fd) != napi_ok || *fd < 0) {
    napi_throw_type_error(env, NULL, usage);
    return 0;
  }
  return 1;
}

static napi_value close_socket(napi_env env, napi_callback_info info) {
  int32_t fd;
  if (fd_only_arg(env, info, "tsflow_send: close(fd)", &fd)) close(fd);
  return NULL;
}

static napi_value bind_counter(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct sockaddr_storage ss;
  socklen_t len;
  int32_t rcvbuf;
  if (!endpoint_args(env, argc, argv, 0, "tsflow_send: bindCounter(address, port, receiveBufferBytes)", &ss, &len,
                     &rcvbuf))
    return NULL;
  int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  if (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) != 0)
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  int on = 1;
  (void)setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
  if (bind(fd, (struct sockaddr *)&ss, len) != 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "bind", err);
  }
  return int_value(env, fd);
}

static napi_value bound_port(napi_env env, napi_callback_info info) {
  int32_t fd;
  if (!fd_only_arg(env, info, "tsflow_send: boundPort(fd)", &fd)) return NULL;
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) return throw_errno(env, "getsockname", errno);
  uint16_t port = ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port : ((struct sockaddr_in *)&ss)->sin_port;
  return int_value(env, ntohs(port));
}

/** The kernel's arrival time (ns) of a received message, or the current time when it gave none. */
static double arrival_ns(struct msghdr *h) {
  for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c != NULL; c = CMSG_NXTHDR(h, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
      struct timespec ts;
      memcpy(&ts, CMSG_DATA(c), sizeof ts);
      return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
    }
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  return (double)now.tv_sec * 1e9 + (double)now.tv_nsec;
}

static napi_value count_datagrams(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd, waitMs;
  void *statsData;
  size_t statsLen;
  if (argc != 3 || napi_get_value_int32(env, argv[0], &fd) != napi_ok ||
      !typed(env, argv[1], napi_float64_array, &statsData, &statsLen) || statsLen < 3 ||
      napi_get_value_int32(env, argv[2], &waitMs) != napi_ok || waitMs < 0) {
    napi_throw_type_error(env, NULL, "tsflow_send: count(fd, stats: Float64Array(3), waitMs)");
    return NULL;
  }
  double *stats = statsData;
  static uint8_t bufs[BATCH][64];
  static uint8_t ctrl[BATCH][CMSG_SPACE(sizeof(struct timespec)) + 64];
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  int64_t counted = 0;
  for (;;) {
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int ready = poll(&pfd, 1, waitMs);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) break;
    for (int j = 0; j < BATCH; j++) {
      iov[j].iov_base = bufs[j];
      iov[j].iov_len = sizeof bufs[j];
      memset(&msgs[j].msg_hdr, 0, sizeof msgs[j].msg_hdr);
      msgs[j].msg_hdr.msg_iov = &iov[j];
      msgs[j].msg_hdr.msg_iovlen = 1;
      msgs[j].msg_hdr.msg_control = ctrl[j];
      msgs[j].msg_hdr.msg_controllen = sizeof ctrl[j];
    }
    int r = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
    if (r < 0) {
      int err = errno;
      if (err == EINTR || err == EAGAIN || err == EWOULDBLOCK) continue;
      return throw_errno(env, "recvmmsg", err);
    }
    if (r == 0) continue;
    if (stats[0] == 0) stats[1] = arrival_ns(&msgs[0].msg_hdr);
    stats[2] = arrival_ns(&msgs[r - 1].msg_hdr);
    stats[0] += r;
    counted += r;
  }
  return int_value(env, counted);
}

NAPI_MODULE_INIT() {
  const struct {
    const char *name;
    napi_callback fn;
  } fns[] = {{"open", open_socket},          {"send", send_batch},          {"close", close_socket},
             {"bindCounter", bind_counter},  {"boundPort", bound_port},     {"count", count_datagrams}};
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    CHECK(napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f));
    CHECK(napi_set_named_property(env, exports, fns[i].name, f));
  }
  return exports;
}
