// SPDX-License-Identifier: BSD-3-Clause
// tsdump's LZ4 block decoder for nfdump's files (src/store/lz4/native.ts is its JS side): a Node-API
// binding to the system's liblz4 — the library nfcapd itself compresses with — opened with dlopen at load, so
// building needs no liblz4 headers and a machine without liblz4.so.1 simply keeps the WebAssembly decoder.
//
// Why: LZ4_decompress_safe is faster on nfcapd's blocks than the WebAssembly decoder (src/store/lz4/wasm.ts), and LZ4 is
// a large part of tsdump's CPU on nfcapd -y files (docs/benchmarks.md).
//
//   decompress(src: Uint8Array, srcOffset, srcLength, dst: Uint8Array) → bytes written, or -1 (malformed
//   input, or a range outside the arrays). LZ4_decompress_safe never reads or writes outside the given ranges.

#define NAPI_VERSION 8
#include <dlfcn.h>
#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

typedef int (*lz4_decompress_safe_fn)(const char *src, char *dst, int compressedSize, int dstCapacity);

static lz4_decompress_safe_fn lz4_decompress_safe = NULL;

#define CHECK(call)                                                                                            \
  do {                                                                                                         \
    if ((call) != napi_ok) {                                                                                   \
      napi_throw_error(env, NULL, "tsflow_lz4: " #call " failed");                                            \
      return NULL;                                                                                             \
    }                                                                                                          \
  } while (0)

static int u8_array(napi_env env, napi_value v, uint8_t **data, size_t *length) {
  napi_typedarray_type type;
  size_t n;
  void *p;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, &n, &p, &buffer, &offset) != napi_ok) return 0;
  if (type != napi_uint8_array) return 0;
  *data = p;
  *length = n;
  return 1;
}

static napi_value decompress(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint8_t *src, *dst;
  size_t srcLen, dstLen;
  int64_t off, len;
  int result = -1;
  if (argc == 4 && u8_array(env, argv[0], &src, &srcLen) && u8_array(env, argv[3], &dst, &dstLen) &&
      napi_get_value_int64(env, argv[1], &off) == napi_ok && napi_get_value_int64(env, argv[2], &len) == napi_ok &&
      off >= 0 && len >= 0 && (uint64_t)off + (uint64_t)len <= srcLen && len <= INT32_MAX) {
    int cap = dstLen > INT32_MAX ? INT32_MAX : (int)dstLen;
    result = lz4_decompress_safe((const char *)src + off, (char *)dst, (int)len, cap);
    if (result < 0) result = -1;
  }
  napi_value out;
  CHECK(napi_create_int32(env, result, &out));
  return out;
}

NAPI_MODULE_INIT() {
  if (lz4_decompress_safe == NULL) {
    void *lib = dlopen("liblz4.so.1", RTLD_NOW | RTLD_LOCAL);
    if (lib != NULL) lz4_decompress_safe = (lz4_decompress_safe_fn)dlsym(lib, "LZ4_decompress_safe");
  }
  // without liblz4 the module exports nothing and the reader keeps its WebAssembly decoder
  if (lz4_decompress_safe == NULL) return exports;
  napi_value fn;
  CHECK(napi_create_function(env, "decompress", NAPI_AUTO_LENGTH, decompress, NULL, &fn));
  CHECK(napi_set_named_property(env, exports, "decompress", fn));
  return exports;
}
