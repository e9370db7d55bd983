// SPDX-License-Identifier: BSD-3-Clause
// The flow-file writer's column encoders (src/store/codec.ts is the reference; src/store/native-encode.ts is the
// JS side): the per-column transform choice and output of docs/file-format.md §4 — dictionary pass, pass-1b
// statistics, choose(), packed dictionary, byte-shuffled for/delta, raw copy — plus sparse6 and the all-zero
// scan, and LZ4 through the system's liblz4 (dlopen of liblz4.so.1 at load, as native/lz4.c).
//
// Why: the JS encoders were the largest part of the collector's writer thread, and V8 kept deoptimising and recompiling
// them (u32 values ≥ 2^31 lose the small-integer representation; each column type brings new feedback).
//
// Every result must be byte-identical to codec.ts (test/unit/store/codec-native.test.ts compares thousands of
// random columns): the same passes in the same order, sums in double in row order, the same comparisons (NaN
// and -0 behave as in JS: IEEE compares, no -ffast-math, no FMA contraction).
//
//   encode(column, n, out, outOffset, plan) → bytes written at out[outOffset] (transformed, or the raw bytes
//     when plan[0] is raw); plan (Float64Array ≥ 8) receives transform, width, base, min, max, ranged, allZero,
//     and in plan[7]: 1 when the column's first n elements are all zero bytes (nothing written), else 0.
//     out must hold n × element size + 136 bytes from outOffset (dictionary indexes are unpacked there first).
//   sparse6(words, flags, n, bit, out, outOffset) → bytes written (16 per row whose flags have `bit`), or -2
//     when the first 4n words are all zero (nothing written). out must hold 16 n bytes from outOffset.
//   compress(src, srcOffset, srcLength, dst, dstOffset, maxStored) → u32 LE srcLength + LZ4 block written at
//     dst[dstOffset], total length; 0 when that would not be shorter than maxStored (compression stops early).
//   forF64(src, off, n, w, base, out), forU32(…): the reader's decoders here — a `for` column of n w-byte values
//     (byte-shuffled planes at src[off]) into the Float64Array out as base + value (codec.ts forToF64), or into
//     the Uint32Array out for an integer base in [0, 2^32) (codec.ts forToU32).
//   forU16(src, off, n, w, base, out): the same into a Uint16Array (w 1 or 2; codec.ts forToU16), for an integer
//     base in [0, 2^32): the store keeps base + value modulo 2^16.
//   deltaF64(src, off, n, w, base, out): a `delta` column (codec.ts unshuffle + finishDeltaF64): out[i] = the
//     running sum from base of the zig-zag-decoded w-byte deltas, added in double in row order.
//   dict(src, off, n, bits, values, out): the reader's decoder of `dict` columns (codec.ts dictToU8/U16/U32/F64):
//     out[i] = values[code i], the codes packed `bits` (0, 1, 2, else 4) to a byte at src[off], low bits first;
//     values is a Uint32Array for an integer out (stored as a typed array store truncates) or a Float64Array
//     for a Float64Array out, of at least 16 entries.
//   dense(keys, rows, m, flows, inPk, inBy, outPk, outBy, first, last, acc, out, domain, spill, state, seen) → the
//     row index j at which it stopped (m when done): stats/dense.ts DenseCounts.accumulate's loop over
//     rows[0, j), the same additions in the same order, for the common case only — it stops before a row whose
//     key's sums would reach 2^53, that needs out counters while `out` is empty, or that lies outside the
//     arrays, and the JS loop goes on from there. state (Float64Array 8) holds the running totals [flows,
//     inPackets, inBytes, outPackets, outBytes, first, last] and the spill count, read and written back; seen
//     (Uint32Array of domain / 32 words) gets bit k & 31 of word k >> 5 set at a key k's first row.
//   crc32(src, off, len, seed) → zlib's CRC32 of src[off, off+len) continued from seed (node:zlib crc32's
//     result), folded with PCLMULQDQ; exported only where the CPU has PCLMULQDQ and SSE4.1 (the reader's block
//     checksums: zlib's table-driven crc32 was a tenth of a scan's CPU).
//   sums(inBytes, inPackets, flows, first, last, sel, k, state): the footer's sums over a block's passing rows
//     (engine/sums.ts sumRows, the same additions in the same order; see the function).
//   readahead(), readaheadStart(…), readaheadWait(h, k, use), readaheadClose(h): the flow-file reader's
//     read-ahead thread and its job slots (see its section below).
// Arguments outside the arrays or of the wrong type: a TypeError/RangeError thrown, nothing read or written.

#define NAPI_VERSION 8
#include <dlfcn.h>
#include <math.h>
#include <node_api.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum { T_RAW = 0, T_FOR = 1, T_DELTA = 2, T_DICT = 4 };
#define MAX_DICT 16
#define SLOTS 1024
#define SLOT_SHIFT 22
/** room before the unpacked dictionary indexes: 16 f64 values + 8 */
#define INDEX_AT 136

typedef int (*lz4_compress_default_fn)(const char *src, char *dst, int srcSize, int dstCapacity);
static lz4_compress_default_fn lz4_compress_default = NULL;

/** Per-column state (on the stack of one call: the addon may run on several threads at once). */
typedef struct {
  double dict[MAX_DICT];
  /** u16/u32 columns: the dictionary values as integers */
  uint32_t keys[MAX_DICT];
  int distinct;
  double min, max, sum, maxStep, sumStep;
  int nan;
  // plan
  int transform, width, ranged, allZero;
  double base, pmin, pmax;
} state;

static double width_for(double range) {
  return range < 256.0 ? 1 : range < 65536.0 ? 2 : range < 4294967296.0 ? 4 : 0;
}

static void set_plan(state *s, int transform, int width, double base) {
  s->transform = transform;
  s->width = width;
  s->base = base;
  s->pmin = s->nan ? 0 : s->min;
  s->pmax = s->nan ? 0 : s->max;
  s->ranged = !s->nan;
  s->allZero = 0;
}

/** codec.ts choose(). */
static void choose(state *s, size_t n, int elementBytes) {
  if (n == 0 || (s->distinct == 1 && s->dict[0] == 0)) {
    s->transform = T_RAW;
    s->width = elementBytes;
    s->base = 0;
    s->pmin = 0;
    s->pmax = 0;
    s->ranged = 1;
    s->allZero = 1;
    return;
  }
  if (s->nan) {
    set_plan(s, T_RAW, elementBytes, 0);
    return;
  }
  int k = s->distinct;
  if (k > 0) {
    int bits = k == 1 ? 0 : k == 2 ? 1 : k <= 4 ? 2 : 4;
    if (bits < elementBytes * 8) {
      set_plan(s, T_DICT, bits, k);
      return;
    }
  }
  if (elementBytes == 1) {
    set_plan(s, T_RAW, 1, 0);
    return;
  }
  int wFor = (int)width_for(s->max - s->min);
  double zzMax = 2 * s->maxStep;
  int wDelta = zzMax < 2147483648.0 ? (int)width_for(zzMax) : 0;
  double nmin = (double)n * s->min;
  double sumFor = s->sum - nmin;
  double sumDelta = 2 * s->sumStep;
  if (wDelta != 0 && (wFor == 0 || wDelta < wFor || (wDelta == wFor && sumDelta * 4 < sumFor))) {
    set_plan(s, T_DELTA, wDelta, NAN);
    return;
  }
  if (wFor == 0 || wFor > elementBytes) {
    set_plan(s, T_RAW, elementBytes, 0);
    return;
  }
  set_plan(s, T_FOR, wFor, s->min);
}

/** codec.ts dictStats(). */
static void dict_stats(state *s) {
  double min = INFINITY, max = -INFINITY;
  int nan = 0;
  for (int j = 0; j < s->distinct; j++) {
    double x = s->dict[j];
    if (x != x) nan = 1;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  s->min = min;
  s->max = max;
  s->sum = 0;
  s->maxStep = 0;
  s->sumStep = 0;
  s->nan = nan;
}

/** dict: k f64 values, then the indexes (unpacked at out + INDEX_AT) packed LSB first; bytes written. */
static size_t pack_dict(const state *s, size_t n, uint8_t *out) {
  int k = (int)s->base;
  int bits = s->width;
  memcpy(out, s->dict, (size_t)k * 8);
  size_t off = (size_t)k * 8;
  size_t len = off + ((n * (size_t)bits + 7) >> 3);
  const uint8_t *index = out + INDEX_AT;
  uint8_t *o = out + off;
  // reads run ahead of writes (INDEX_AT > 16 × 8), so packing in place is safe
  if (bits == 1) {
    size_t i = 0, b = 0;
    for (; i + 8 <= n; i += 8, b++)
      o[b] = (uint8_t)(index[i] | index[i + 1] << 1 | index[i + 2] << 2 | index[i + 3] << 3 | index[i + 4] << 4 |
                       index[i + 5] << 5 | index[i + 6] << 6 | index[i + 7] << 7);
    if (i < n) {
      unsigned x = 0;
      for (unsigned j = 0; i + j < n; j++) x |= (unsigned)index[i + j] << j;
      o[b] = (uint8_t)x;
    }
  } else if (bits == 2) {
    size_t i = 0, b = 0;
    for (; i + 4 <= n; i += 4, b++)
      o[b] = (uint8_t)(index[i] | index[i + 1] << 2 | index[i + 2] << 4 | index[i + 3] << 6);
    if (i < n) {
      unsigned x = 0;
      for (unsigned j = 0; i + j < n; j++) x |= (unsigned)index[i + j] << (2 * j);
      o[b] = (uint8_t)x;
    }
  } else if (bits == 4) {
    size_t i = 0, b = 0;
    for (; i + 2 <= n; i += 2, b++) o[b] = (uint8_t)(index[i] | index[i + 1] << 4);
    if (i < n) o[b] = index[i];
  }
  return len;
}

/** Finds or adds x (compared as double: NaN never matches, -0 == 0) in the dictionary; -1 for a 17th value. */
static inline int dict_slot(state *s, int8_t *slots, double x, uint32_t h) {
  int e = slots[h];
  while (e != 0 && s->dict[e - 1] != x) {
    h = (h + 1) & (SLOTS - 1);
    e = slots[h];
  }
  if (e != 0) return e - 1;
  int k = s->distinct;
  if (k == MAX_DICT) return -1;
  s->dict[k] = x;
  s->distinct = k + 1;
  slots[h] = (int8_t)(k + 1);
  return k;
}

static inline uint32_t hash32(uint32_t x) { return (x * 0x9e3779b1u) >> SLOT_SHIFT; }

/** dict_slot for integer columns: compares the values as u32 (the same equality as in double). */
static inline int dict_slot_u32(state *s, int8_t *slots, uint32_t x) {
  uint32_t h = hash32(x);
  int e = slots[h];
  while (e != 0 && s->keys[e - 1] != x) {
    h = (h + 1) & (SLOTS - 1);
    e = slots[h];
  }
  if (e != 0) return e - 1;
  int k = s->distinct;
  if (k == MAX_DICT) return -1;
  s->dict[k] = x;
  s->keys[k] = x;
  s->distinct = k + 1;
  slots[h] = (int8_t)(k + 1);
  return k;
}

/** Equal doubles (-0 and 0 included) hash equal: x + 0.0 turns -0 into +0. */
static inline uint32_t hash_f64(double x) {
  double y = x + 0.0;
  uint64_t b;
  memcpy(&b, &y, 8);
  return hash32((uint32_t)b ^ (uint32_t)(b >> 32) * 0x85ebca6bu);
}

/** Math.floor(x) === x without libm: integral or ±Infinity (NaN: false). */
static inline int integral(double x) {
  if (!(fabs(x) < 4503599627370496.0)) return x == x;
  return (double)(int64_t)x == x;
}

static inline uint32_t zigzag(int32_t d) { return ((uint32_t)d << 1) ^ (uint32_t)(d >> 31); }

// ── u8 ──

static size_t encode_u8(const uint8_t *restrict v, size_t n, state *restrict s, uint8_t *restrict out) {
  int8_t table[256];
  memset(table, 0, sizeof table);
  uint8_t *index = out + INDEX_AT;
  int k = 0;
  size_t i = 0;
  for (; i < n; i++) {
    uint8_t x = v[i];
    int e = table[x];
    if (e == 0) {
      if (k == MAX_DICT) break;
      s->dict[k] = x;
      e = ++k;
      table[x] = (int8_t)e;
    }
    index[i] = (uint8_t)(e - 1);
  }
  if (i == n) {
    s->distinct = k;
    dict_stats(s);
  } else {
    // more than 16 values: only the range matters (a u8 column is then stored raw)
    unsigned min = 255, max = 0;
    for (size_t j = 0; j < n; j++) {
      unsigned x = v[j];
      if (x < min) min = x;
      if (x > max) max = x;
    }
    s->min = min;
    s->max = max;
    s->sum = 0;
    s->maxStep = 0;
    s->sumStep = 0;
    s->distinct = 0;
    s->nan = 0;
  }
  choose(s, n, 1);
  if (s->transform == T_DICT) return pack_dict(s, n, out);
  if (s->allZero) return 0;
  memcpy(out, v, n);
  return n;
}

// ── u16 and u32: one body (the statistics are exact in double for both) ──

#define ENCODE_UINT(NAME, T, BYTES)                                                                              \
  static size_t NAME(const T *restrict v, size_t n, state *restrict s, uint8_t *restrict out) {                                           \
    if (n == 0) {                                                                                                \
      choose(s, 0, BYTES);                                                                                       \
      return 0;                                                                                                  \
    }                                                                                                            \
    int8_t slots[SLOTS];                                                                                         \
    memset(slots, 0, sizeof slots);                                                                              \
    s->distinct = 0;                                                                                             \
    uint8_t *index = out + INDEX_AT;                                                                             \
    int64_t last = -1;                                                                                           \
    int lastJ = 0;                                                                                               \
    size_t i = 0;                                                                                                \
    for (; i < n; i++) {                                                                                         \
      T x = v[i];                                                                                                \
      if ((int64_t)x != last) {                                                                                  \
        int j = dict_slot_u32(s, slots, x);                                                                      \
        if (j < 0) break;                                                                                        \
        last = x;                                                                                                \
        lastJ = j;                                                                                               \
      }                                                                                                          \
      index[i] = (uint8_t)lastJ;                                                                                 \
    }                                                                                                            \
    if (i == n) {                                                                                                \
      dict_stats(s);                                                                                             \
    } else {                                                                                                     \
      s->distinct = 0;                                                                                           \
      T min = v[0], max = v[0];                                                                                  \
      uint32_t maxStep = 0;                                                                                      \
      if (n < ((size_t)1 << 21)) {                                                                               \
        /* sums below 2^53: exact in double whatever the order, so integer sums give codec.ts's bits */          \
        uint64_t sum = v[0], sumStep = 0;                                                                        \
        for (size_t r = 1; r < n; r++) {                                                                         \
          T x = v[r];                                                                                            \
          T p = v[r - 1];                                                                                        \
          min = x < min ? x : min;                                                                               \
          max = x > max ? x : max;                                                                               \
          sum += x;                                                                                              \
          uint32_t st = x > p ? (uint32_t)(x - p) : (uint32_t)(p - x);                                           \
          maxStep = st > maxStep ? st : maxStep;                                                                 \
          sumStep += st;                                                                                         \
        }                                                                                                        \
        s->sum = (double)sum;                                                                                    \
        s->sumStep = (double)sumStep;                                                                            \
      } else {                                                                                                   \
        double sum = 0, sumStep = 0;                                                                             \
        for (size_t r = 0; r < n; r++) {                                                                         \
          T x = v[r];                                                                                            \
          T p = v[r > 0 ? r - 1 : 0];                                                                            \
          if (x < min) min = x;                                                                                  \
          if (x > max) max = x;                                                                                  \
          sum += (double)x;                                                                                      \
          uint32_t st = x > p ? (uint32_t)(x - p) : (uint32_t)(p - x);                                           \
          if (st > maxStep) maxStep = st;                                                                        \
          sumStep += (double)st;                                                                                 \
        }                                                                                                        \
        s->sum = sum;                                                                                            \
        s->sumStep = sumStep;                                                                                    \
      }                                                                                                          \
      s->min = min;                                                                                              \
      s->max = max;                                                                                              \
      s->maxStep = maxStep;                                                                                      \
      s->nan = 0;                                                                                                \
    }                                                                                                            \
    choose(s, n, BYTES);                                                                                         \
    if (s->transform == T_DICT) return pack_dict(s, n, out);                                                     \
    if (s->allZero) return 0;                                                                                    \
    int w = s->width;                                                                                            \
    if (s->transform == T_DELTA) {                                                                               \
      s->base = v[0];                                                                                            \
      uint32_t p = v[0];                                                                                         \
      /* |step| < 2^30 (choose() guarantees it): the wrapped difference is the signed step */                    \
      if (w == 1)                                                                                                \
        for (size_t r = 0; r < n; r++) {                                                                         \
          uint32_t x = v[r];                                                                                     \
          out[r] = (uint8_t)zigzag((int32_t)(x - p));                                                            \
          p = x;                                                                                                 \
        }                                                                                                        \
      else if (w == 2)                                                                                           \
        for (size_t r = 0; r < n; r++) {                                                                         \
          uint32_t x = v[r];                                                                                     \
          uint32_t z = zigzag((int32_t)(x - p));                                                                 \
          p = x;                                                                                                 \
          out[r] = (uint8_t)z;                                                                                   \
          out[n + r] = (uint8_t)(z >> 8);                                                                        \
        }                                                                                                        \
      else                                                                                                       \
        for (size_t r = 0; r < n; r++) {                                                                         \
          uint32_t x = v[r];                                                                                     \
          uint32_t z = zigzag((int32_t)(x - p));                                                                 \
          p = x;                                                                                                 \
          out[r] = (uint8_t)z;                                                                                   \
          out[n + r] = (uint8_t)(z >> 8);                                                                        \
          out[2 * n + r] = (uint8_t)(z >> 16);                                                                   \
          out[3 * n + r] = (uint8_t)(z >> 24);                                                                   \
        }                                                                                                        \
      return n * (size_t)w;                                                                                      \
    }                                                                                                            \
    if (s->transform == T_FOR) {                                                                                 \
      uint32_t b = (uint32_t)s->base;                                                                            \
      if (w == 1)                                                                                                \
        for (size_t r = 0; r < n; r++) out[r] = (uint8_t)(v[r] - b);                                             \
      else if (w == 2)                                                                                           \
        for (size_t r = 0; r < n; r++) {                                                                         \
          uint32_t u = v[r] - b;                                                                                 \
          out[r] = (uint8_t)u;                                                                                   \
          out[n + r] = (uint8_t)(u >> 8);                                                                        \
        }                                                                                                        \
      else                                                                                                       \
        for (size_t r = 0; r < n; r++) {                                                                         \
          uint32_t u = v[r] - b;                                                                                 \
          out[r] = (uint8_t)u;                                                                                   \
          out[n + r] = (uint8_t)(u >> 8);                                                                        \
          out[2 * n + r] = (uint8_t)(u >> 16);                                                                   \
          out[3 * n + r] = (uint8_t)(u >> 24);                                                                   \
        }                                                                                                        \
      return n * (size_t)w;                                                                                      \
    }                                                                                                            \
    memcpy(out, v, n * BYTES);                                                                                   \
    return n * BYTES;                                                                                            \
  }

ENCODE_UINT(encode_u16, uint16_t, 2)
ENCODE_UINT(encode_u32, uint32_t, 4)

// ── f64 ──

/** Element i of n, w bytes (1, 2 or 4) of u, byte-shuffled: its byte k at out[k·n + i]. */
static inline void put_shuffled(uint8_t *restrict out, size_t n, size_t i, int w, uint32_t u) {
  out[i] = (uint8_t)u;
  if (w > 1) {
    out[n + i] = (uint8_t)(u >> 8);
    if (w > 2) {
      out[2 * n + i] = (uint8_t)(u >> 16);
      out[3 * n + i] = (uint8_t)(u >> 24);
    }
  }
}

/** for: 0 when some value is not an integer (the caller then stores raw). */
static int for_f64(const double *restrict v, size_t n, double base, int w, uint8_t *restrict out) {
  for (size_t i = 0; i < n; i++) {
    double x = v[i];
    if (!integral(x)) return 0;
    // 0 ≤ x − base ≤ fl(max − min) < 2^32 (rounding is monotonic), so the conversion is defined
    put_shuffled(out, n, i, w, (uint32_t)(x - base));
  }
  return 1;
}

static int delta_f64(const double *restrict v, size_t n, int w, uint8_t *restrict out) {
  double prev = v[0];
  if (!integral(prev)) return 0;
  for (size_t i = 0; i < n; i++) {
    double x = v[i];
    if (!integral(x)) return 0;
    int32_t d = (int32_t)(x - prev); // |d| ≤ maxStep < 2^30, exact
    prev = x;
    put_shuffled(out, n, i, w, zigzag(d));
  }
  return 1;
}

static size_t encode_f64(const double *restrict v, size_t n, state *restrict s, uint8_t *restrict out) {
  if (n == 0) {
    choose(s, 0, 8);
    return 0;
  }
  int8_t slots[SLOTS];
  memset(slots, 0, sizeof slots);
  s->distinct = 0;
  uint8_t *index = out + INDEX_AT;
  double last = NAN;
  int lastJ = 0;
  size_t i = 0;
  for (; i < n; i++) {
    double x = v[i];
    if (x != last) {
      int j = dict_slot(s, slots, x, hash_f64(x));
      if (j < 0) break;
      last = x;
      lastJ = j;
    }
    index[i] = (uint8_t)lastJ;
  }
  if (i == n) {
    dict_stats(s);
  } else {
    s->distinct = 0;
    double min = INFINITY, max = -INFINITY, sum = 0, prev = v[0], maxStep = 0, sumStep = 0;
    int nan = 0;
    for (size_t r = 0; r < n; r++) {
      double x = v[r];
      if (x < min) min = x;
      if (x > max) max = x;
      if (x != x) nan = 1;
      sum += x;
      double st = fabs(x - prev);
      prev = x;
      if (st > maxStep) maxStep = st;
      sumStep += st;
    }
    s->min = min;
    s->max = max;
    s->sum = sum;
    s->maxStep = maxStep;
    s->sumStep = sumStep;
    s->nan = nan;
  }
  choose(s, n, 8);
  if (s->transform == T_DICT) return pack_dict(s, n, out);
  if (s->allZero) return 0;
  if (s->transform == T_DELTA) {
    s->base = v[0];
    if (delta_f64(v, n, s->width, out)) return n * (size_t)s->width;
    set_plan(s, T_RAW, 8, 0); // a fraction: raw
  } else if (s->transform == T_FOR) {
    if (for_f64(v, n, s->base, s->width, out)) return n * (size_t)s->width;
    set_plan(s, T_RAW, 8, 0);
  }
  memcpy(out, v, n * 8);
  return n * 8;
}

// ── Node-API ──

static int all_zero(const uint8_t *p, size_t len) {
  uint64_t acc = 0;
  size_t i = 0;
  for (; i + 64 <= len; i += 64) {
    uint64_t w[8];
    memcpy(w, p + i, 64);
    acc |= w[0] | w[1] | w[2] | w[3] | w[4] | w[5] | w[6] | w[7];
    if (acc != 0) return 0;
  }
  for (; i < len; i++) acc |= p[i];
  return acc == 0;
}

static napi_value fail(napi_env env, const char *msg) {
  napi_throw_range_error(env, NULL, msg);
  return NULL;
}

static int typed_array(napi_env env, napi_value v, napi_typedarray_type *type, void **data, size_t *length) {
  napi_value buffer;
  size_t offset;
  bool is;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return 0;
  return napi_get_typedarray_info(env, v, type, length, data, &buffer, &offset) == napi_ok;
}

static int u8_array(napi_env env, napi_value v, uint8_t **data, size_t *length) {
  napi_typedarray_type type;
  void *p;
  if (!typed_array(env, v, &type, &p, length) || type != napi_uint8_array) return 0;
  *data = p;
  return 1;
}

/** A non-negative integer ≤ 2^40 (a length or offset); -1 otherwise. */
static int64_t index_arg(napi_env env, napi_value v) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) return -1;
  if (!(d >= 0 && d <= 1099511627776.0) || d != (double)(int64_t)d) return -1;
  return (int64_t)d;
}

static napi_value int_result(napi_env env, double x) {
  napi_value out;
  if (napi_create_double(env, x, &out) != napi_ok) return NULL;
  return out;
}

static napi_value js_encode(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 5)
    return fail(env, "tsflow_encode: encode(column, n, out, outOffset, plan)");
  napi_typedarray_type type, planType;
  void *col;
  size_t colLen, outLen, planLen;
  uint8_t *out;
  double *plan;
  if (!typed_array(env, argv[0], &type, &col, &colLen))
    return fail(env, "tsflow_encode: encode: column is not a typed array");
  int bytes = type == napi_uint8_array     ? 1
              : type == napi_uint16_array  ? 2
              : type == napi_uint32_array  ? 4
              : type == napi_float64_array ? 8
                                           : 0;
  if (bytes == 0) return fail(env, "tsflow_encode: encode: column is not a Uint8/16/32Array or Float64Array");
  if (!u8_array(env, argv[2], &out, &outLen)) return fail(env, "tsflow_encode: encode: out is not a Uint8Array");
  {
    void *p;
    if (!typed_array(env, argv[4], &planType, &p, &planLen) || planType != napi_float64_array || planLen < 8)
      return fail(env, "tsflow_encode: encode: plan is not a Float64Array of 8");
    plan = p;
  }
  int64_t n = index_arg(env, argv[1]);
  int64_t off = index_arg(env, argv[3]);
  if (n < 0 || (uint64_t)n > colLen) return fail(env, "tsflow_encode: encode: n outside the column");
  if (off < 0 || (uint64_t)off > outLen || outLen - (size_t)off < (size_t)n * (size_t)bytes + INDEX_AT)
    return fail(env, "tsflow_encode: encode: out too small");
  size_t nn = (size_t)n;
  uint8_t *o = out + off;
  if (all_zero(col, nn * (size_t)bytes)) {
    plan[0] = T_RAW;
    plan[1] = bytes;
    plan[2] = plan[3] = plan[4] = 0;
    plan[5] = 1;
    plan[6] = 1;
    plan[7] = 1;
    return int_result(env, 0);
  }
  state s;
  s.distinct = 0;
  size_t len = bytes == 1   ? encode_u8(col, nn, &s, o)
               : bytes == 2 ? encode_u16(col, nn, &s, o)
               : bytes == 4 ? encode_u32(col, nn, &s, o)
                            : encode_f64(col, nn, &s, o);
  plan[0] = s.transform;
  plan[1] = s.width;
  plan[2] = s.base;
  plan[3] = s.pmin;
  plan[4] = s.pmax;
  plan[5] = s.ranged;
  plan[6] = s.allZero;
  plan[7] = 0;
  return int_result(env, (double)len);
}

static napi_value js_sparse6(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 6)
    return fail(env, "tsflow_encode: sparse6(words, flags, n, bit, out, outOffset)");
  napi_typedarray_type type;
  void *wp;
  size_t wordsLen, flagsLen, outLen;
  uint8_t *flags, *out;
  if (!typed_array(env, argv[0], &type, &wp, &wordsLen) || type != napi_uint32_array)
    return fail(env, "tsflow_encode: sparse6: words is not a Uint32Array");
  if (!u8_array(env, argv[1], &flags, &flagsLen) || !u8_array(env, argv[4], &out, &outLen))
    return fail(env, "tsflow_encode: sparse6: flags or out is not a Uint8Array");
  int64_t n = index_arg(env, argv[2]);
  int64_t off = index_arg(env, argv[5]);
  uint32_t bit;
  if (napi_get_value_uint32(env, argv[3], &bit) != napi_ok) return fail(env, "tsflow_encode: sparse6: bad bit");
  if (n < 0 || (uint64_t)n * 4 > wordsLen || (uint64_t)n > flagsLen)
    return fail(env, "tsflow_encode: sparse6: n outside the arrays");
  if (off < 0 || (uint64_t)off > outLen || outLen - (size_t)off < (size_t)n * 16)
    return fail(env, "tsflow_encode: sparse6: out too small");
  const uint32_t *words = wp;
  size_t nn = (size_t)n;
  if (all_zero((const uint8_t *)words, nn * 16)) return int_result(env, -2);
  uint8_t *o = out + off;
  size_t k = 0;
  for (size_t i = 0; i < nn; i++) {
    if ((flags[i] & bit) != 0) {
      memcpy(o + k * 16, words + i * 4, 16);
      k++;
    }
  }
  return int_result(env, (double)(k * 16));
}

static napi_value js_compress(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 6)
    return fail(env, "tsflow_encode: compress(src, srcOffset, srcLength, dst, dstOffset, maxStored)");
  uint8_t *src, *dst;
  size_t srcLen, dstLen;
  if (!u8_array(env, argv[0], &src, &srcLen) || !u8_array(env, argv[3], &dst, &dstLen))
    return fail(env, "tsflow_encode: compress: src or dst is not a Uint8Array");
  int64_t so = index_arg(env, argv[1]), sl = index_arg(env, argv[2]), doff = index_arg(env, argv[4]),
          max = index_arg(env, argv[5]);
  if (so < 0 || sl < 0 || (uint64_t)so + (uint64_t)sl > srcLen || sl > INT32_MAX - 65536)
    return fail(env, "tsflow_encode: compress: source range outside src");
  if (doff < 0 || max < 0 || (uint64_t)doff + (uint64_t)max > dstLen)
    return fail(env, "tsflow_encode: compress: maxStored outside dst");
  // stored = 4 + LZ4 block; only a result shorter than maxStored is of use
  if (max <= 5 || sl == 0) return int_result(env, 0);
  int64_t cap = max - 5;
  if (cap > INT32_MAX) cap = INT32_MAX;
  int c = lz4_compress_default((const char *)src + so, (char *)dst + doff + 4, (int)sl, (int)cap);
  if (c <= 0) return int_result(env, 0);
  uint32_t len = (uint32_t)sl;
  uint8_t *d = dst + doff;
  d[0] = (uint8_t)len;
  d[1] = (uint8_t)(len >> 8);
  d[2] = (uint8_t)(len >> 16);
  d[3] = (uint8_t)(len >> 24);
  return int_result(env, 4.0 + c);
}

/**
 * forF64(src, off, n, w, base, out): the `for` transform read back into f64 (codec.ts forToF64, the same IEEE
 * additions): out[i] = base + the w-byte value i of the byte-shuffled planes at src[off] (plane k = byte k of
 * every value, n bytes each).
 */
static napi_value js_for_f64(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 6)
    return fail(env, "tsflow_encode: forF64(src, off, n, w, base, out)");
  uint8_t *src;
  size_t srcLen, outLen;
  if (!u8_array(env, argv[0], &src, &srcLen)) return fail(env, "tsflow_encode: forF64: src is not a Uint8Array");
  napi_typedarray_type type;
  void *op;
  if (!typed_array(env, argv[5], &type, &op, &outLen) || type != napi_float64_array)
    return fail(env, "tsflow_encode: forF64: out is not a Float64Array");
  int64_t off = index_arg(env, argv[1]), n = index_arg(env, argv[2]), w = index_arg(env, argv[3]);
  double base;
  if (napi_get_value_double(env, argv[4], &base) != napi_ok) return fail(env, "tsflow_encode: forF64: bad base");
  if (off < 0 || n < 0 || (w != 1 && w != 2 && w != 4) || (uint64_t)off + (uint64_t)n * (uint64_t)w > srcLen ||
      (uint64_t)n > outLen)
    return fail(env, "tsflow_encode: forF64: n, w or off outside the arrays");
  const uint8_t *p0 = src + off;
  const size_t nn = (size_t)n;
  double *out = op;
  if (w == 1) {
    for (size_t i = 0; i < nn; i++) out[i] = base + (double)p0[i];
  } else if (w == 2) {
    const uint8_t *p1 = p0 + nn;
    for (size_t i = 0; i < nn; i++) out[i] = base + (double)(uint32_t)(p0[i] | (p1[i] << 8));
  } else {
    const uint8_t *p1 = p0 + nn, *p2 = p1 + nn, *p3 = p2 + nn;
    for (size_t i = 0; i < nn; i++)
      out[i] = base + (double)((uint32_t)p0[i] | ((uint32_t)p1[i] << 8) | ((uint32_t)p2[i] << 16) |
                               ((uint32_t)p3[i] << 24));
  }
  return NULL;
}

/**
 * forU32(src, off, n, w, base, out): as forF64 into a Uint32Array for an integer base in [0, 2^32) (codec.ts
 * forToU32: base + value stored modulo 2^32, which u32 arithmetic gives for such a base).
 */
static napi_value js_for_u32(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 6)
    return fail(env, "tsflow_encode: forU32(src, off, n, w, base, out)");
  uint8_t *src;
  size_t srcLen, outLen;
  if (!u8_array(env, argv[0], &src, &srcLen)) return fail(env, "tsflow_encode: forU32: src is not a Uint8Array");
  napi_typedarray_type type;
  void *op;
  if (!typed_array(env, argv[5], &type, &op, &outLen) || type != napi_uint32_array)
    return fail(env, "tsflow_encode: forU32: out is not a Uint32Array");
  int64_t off = index_arg(env, argv[1]), n = index_arg(env, argv[2]), w = index_arg(env, argv[3]);
  double based;
  if (napi_get_value_double(env, argv[4], &based) != napi_ok || !(based >= 0 && based < 4294967296.0) ||
      based != (double)(uint32_t)based)
    return fail(env, "tsflow_encode: forU32: base is not an integer in [0, 2^32)");
  if (off < 0 || n < 0 || (w != 1 && w != 2 && w != 4) || (uint64_t)off + (uint64_t)n * (uint64_t)w > srcLen ||
      (uint64_t)n > outLen)
    return fail(env, "tsflow_encode: forU32: n, w or off outside the arrays");
  const uint32_t base = (uint32_t)based;
  const uint8_t *p0 = src + off;
  const size_t nn = (size_t)n;
  uint32_t *out = op;
  if (w == 1) {
    for (size_t i = 0; i < nn; i++) out[i] = base + p0[i];
  } else if (w == 2) {
    const uint8_t *p1 = p0 + nn;
    for (size_t i = 0; i < nn; i++) out[i] = base + (uint32_t)(p0[i] | (p1[i] << 8));
  } else {
    const uint8_t *p1 = p0 + nn, *p2 = p1 + nn, *p3 = p2 + nn;
    for (size_t i = 0; i < nn; i++)
      out[i] = base + ((uint32_t)p0[i] | ((uint32_t)p1[i] << 8) | ((uint32_t)p2[i] << 16) | ((uint32_t)p3[i] << 24));
  }
  return NULL;
}

/** Arguments shared by forU16 and deltaF64: src range of n w-byte values, out of at least n elements. */
static int planes_args(napi_env env, napi_value *argv, napi_typedarray_type want, const uint8_t **p, size_t *n,
                       int *w, double *base, void **out) {
  uint8_t *src;
  size_t srcLen, outLen;
  napi_typedarray_type type;
  if (!u8_array(env, argv[0], &src, &srcLen) || !typed_array(env, argv[5], &type, out, &outLen) || type != want)
    return 0;
  int64_t off = index_arg(env, argv[1]), nn = index_arg(env, argv[2]), ww = index_arg(env, argv[3]);
  if (napi_get_value_double(env, argv[4], base) != napi_ok) return 0;
  if (off < 0 || nn < 0 || (ww != 1 && ww != 2 && ww != 4) || (uint64_t)off + (uint64_t)nn * (uint64_t)ww > srcLen ||
      (uint64_t)nn > outLen)
    return 0;
  *p = src + off;
  *n = (size_t)nn;
  *w = (int)ww;
  return 1;
}

/** forU16(src, off, n, w, base, out): see the head of the file. */
static napi_value js_for_u16(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  const uint8_t *p0;
  size_t nn;
  int w;
  double based;
  void *op;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 6 ||
      !planes_args(env, argv, napi_uint16_array, &p0, &nn, &w, &based, &op) || w == 4 ||
      !(based >= 0 && based < 4294967296.0) || based != (double)(uint32_t)based)
    return fail(env, "tsflow_encode: forU16(src, off, n, w 1|2, integer base, out: Uint16Array) outside the arrays");
  const uint32_t base = (uint32_t)based;
  uint16_t *out = op;
  if (w == 1) {
    for (size_t i = 0; i < nn; i++) out[i] = (uint16_t)(base + p0[i]);
  } else {
    const uint8_t *p1 = p0 + nn;
    for (size_t i = 0; i < nn; i++) out[i] = (uint16_t)(base + (uint32_t)(p0[i] | (p1[i] << 8)));
  }
  return NULL;
}

/** deltaF64(src, off, n, w, base, out): see the head of the file. */
static napi_value js_delta_f64(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  const uint8_t *p0;
  size_t nn;
  int w;
  double prev;
  void *op;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 6 ||
      !planes_args(env, argv, napi_float64_array, &p0, &nn, &w, &prev, &op))
    return fail(env, "tsflow_encode: deltaF64(src, off, n, w, base, out: Float64Array) outside the arrays");
  double *out = op;
  const uint8_t *p1 = p0 + nn, *p2 = p1 + nn, *p3 = p2 + nn;
  for (size_t i = 0; i < nn; i++) {
    uint32_t z = p0[i];
    if (w >= 2) z |= (uint32_t)p1[i] << 8;
    if (w == 4) z |= ((uint32_t)p2[i] << 16) | ((uint32_t)p3[i] << 24);
    // zig-zag: (z >>> 1) ^ -(z & 1) as a signed 32-bit value, as codec.ts computes it
    int32_t d = (int32_t)((z >> 1) ^ (0u - (z & 1)));
    prev += (double)d;
    out[i] = prev;
  }
  return NULL;
}

/** Bytes of n dictionary codes of `bits` bits (0, 1, 2, else 4), as codec.ts dictTo* read them. */
static uint64_t dict_bytes(uint64_t n, int bits) {
  if (bits == 0) return 0;
  if (bits == 1) return (n + 7) / 8;
  if (bits == 2) return (n + 3) / 4;
  return (n + 1) / 2;
}

#define DICT_LOOP(T, V)                                                                                         \
  do {                                                                                                         \
    T *o = (T *)op;                                                                                            \
    if (bits == 0)                                                                                             \
      for (size_t i = 0; i < nn; i++) o[i] = (T)V[0];                                                          \
    else if (bits == 1)                                                                                        \
      for (size_t i = 0; i < nn; i++) o[i] = (T)V[(p[i >> 3] >> (i & 7)) & 1];                                 \
    else if (bits == 2)                                                                                        \
      for (size_t i = 0; i < nn; i++) o[i] = (T)V[(p[i >> 2] >> ((i & 3) << 1)) & 3];                          \
    else                                                                                                       \
      for (size_t i = 0; i < nn; i++) o[i] = (T)V[(p[i >> 1] >> ((i & 1) << 2)) & 15];                         \
  } while (0)

/** dict(src, off, n, bits, values, out): see the head of the file. */
static napi_value js_dict(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 6)
    return fail(env, "tsflow_encode: dict(src, off, n, bits, values, out)");
  uint8_t *src;
  size_t srcLen, valLen, outLen;
  if (!u8_array(env, argv[0], &src, &srcLen)) return fail(env, "tsflow_encode: dict: src is not a Uint8Array");
  napi_typedarray_type vt, ot;
  void *vp, *op;
  if (!typed_array(env, argv[4], &vt, &vp, &valLen) || !typed_array(env, argv[5], &ot, &op, &outLen))
    return fail(env, "tsflow_encode: dict: values or out is not a typed array");
  int64_t off = index_arg(env, argv[1]), n = index_arg(env, argv[2]), bits = index_arg(env, argv[3]);
  if (off < 0 || n < 0 || bits < 0 || bits > 4 || (uint64_t)n > outLen ||
      (uint64_t)off + dict_bytes((uint64_t)n, (int)bits) > srcLen)
    return fail(env, "tsflow_encode: dict: n, bits or off outside the arrays");
  if (valLen < 16) return fail(env, "tsflow_encode: dict: fewer than 16 values");
  const uint8_t *p = src + off;
  const size_t nn = (size_t)n;
  if (vt == napi_uint32_array) {
    const uint32_t *v = vp;
    if (ot == napi_uint8_array) DICT_LOOP(uint8_t, v);
    else if (ot == napi_uint16_array) DICT_LOOP(uint16_t, v);
    else if (ot == napi_uint32_array) DICT_LOOP(uint32_t, v);
    else return fail(env, "tsflow_encode: dict: out is not a Uint8/16/32Array for u32 values");
  } else if (vt == napi_float64_array && ot == napi_float64_array) {
    const double *v = vp;
    DICT_LOOP(double, v);
  } else
    return fail(env, "tsflow_encode: dict: values and out types do not match");
  return NULL;
}

/** Whether v is a typed array of the given type; its data (NULL when empty) and length. */
static int typed_of(napi_env env, napi_value v, napi_typedarray_type want, void **p, size_t *len) {
  napi_typedarray_type type;
  return typed_array(env, v, &type, p, len) && type == want;
}

#define TWO53 9007199254740992.0

/** dense's loop for one key type (a loop per type: no per-row type switch). Returns the row it stopped at. */
#define DENSE_LOOP(NAME, KT)                                                                                    \
  static size_t NAME(const void *kp, const uint32_t *rows, size_t nn, size_t rowLimit, const double *flowsCol,    \
                     const double *inPk, const double *inBy, const double *outPk, const double *outBy,           \
                     const double *firstCol, const double *lastCol, double *acc, double *out, int hasOut,        \
                     uint64_t domain, uint32_t *spill, size_t spillLen, double *st, uint32_t *seen) {            \
    const KT *keys = kp;                                                                                       \
    double tf = st[0], tp = st[1], tb = st[2], top = st[3], tob = st[4], tfirst = st[5], tlast = st[6];         \
    size_t s = (size_t)st[7];                                                                                  \
    size_t j = 0;                                                                                              \
    for (; j < nn; j++) {                                                                                      \
      const uint32_t r = rows[j];                                                                              \
      if (r >= rowLimit) break;                                                                                \
      const uint32_t k = keys[r];                                                                              \
      const double f0 = flowsCol[r];                                                                           \
      const double f = f0 == 0 ? 1 : f0;                                                                       \
      const double p = inPk[r], b = inBy[r], op = outPk[r], ob = outBy[r], t0 = firstCol[r], t1 = lastCol[r];  \
      if ((uint64_t)k >= domain) {                                                                             \
        if (s >= spillLen) break;                                                                              \
        spill[s++] = r;                                                                                        \
      } else {                                                                                                 \
        double *e = acc + (size_t)k * 5;                                                                       \
        const double fl = e[0] + f, s1 = e[1] + p, s2 = e[2] + b;                                              \
        if (fl >= TWO53 || s1 >= TWO53 || s2 >= TWO53) break;                                                  \
        const int hasOutRow = op != 0 || ob != 0;                                                              \
        double *o = out + (size_t)k * 2;                                                                       \
        double q0 = 0, q1 = 0;                                                                                 \
        if (hasOutRow) {                                                                                       \
          if (!hasOut) break;                                                                                  \
          q0 = o[0] + op;                                                                                      \
          q1 = o[1] + ob;                                                                                      \
          if (q0 >= TWO53 || q1 >= TWO53) break;                                                               \
        }                                                                                                      \
        e[0] = fl;                                                                                             \
        e[1] = s1;                                                                                             \
        e[2] = s2;                                                                                             \
        if (fl == f) {                                                                                         \
          e[3] = t0;                                                                                           \
          e[4] = t1;                                                                                           \
          seen[k >> 5] |= 1u << (k & 31);                                                                      \
        } else {                                                                                               \
          const double a3 = e[3], a4 = e[4];                                                                   \
          e[3] = t0 < a3 ? t0 : a3;                                                                            \
          e[4] = t1 > a4 ? t1 : a4;                                                                            \
        }                                                                                                      \
        if (hasOutRow) {                                                                                       \
          o[0] = q0;                                                                                           \
          o[1] = q1;                                                                                           \
        }                                                                                                      \
      }                                                                                                        \
      tf += f;                                                                                                 \
      tp += p;                                                                                                 \
      tb += b;                                                                                                 \
      top += op;                                                                                               \
      tob += ob;                                                                                               \
      tfirst = t0 < tfirst ? t0 : tfirst;                                                                      \
      tlast = t1 > tlast ? t1 : tlast;                                                                         \
    }                                                                                                          \
    st[0] = tf;                                                                                                \
    st[1] = tp;                                                                                                \
    st[2] = tb;                                                                                                \
    st[3] = top;                                                                                               \
    st[4] = tob;                                                                                               \
    st[5] = tfirst;                                                                                            \
    st[6] = tlast;                                                                                             \
    st[7] = (double)s;                                                                                         \
    return j;                                                                                                  \
  }
DENSE_LOOP(dense_u8, uint8_t)
DENSE_LOOP(dense_u16, uint16_t)
DENSE_LOOP(dense_u32, uint32_t)

/** dense(…): see the head of the file. */
static napi_value js_dense(napi_env env, napi_callback_info info) {
  size_t argc = 16;
  napi_value argv[16];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 16)
    return fail(env, "tsflow_encode: dense(keys, rows, m, flows, inPk, inBy, outPk, outBy, first, last, acc, out, "
                     "domain, spill, state, seen)");
  napi_typedarray_type kt;
  void *kp;
  size_t kLen, rLen, len[8], accLen, outLen, spillLen, stLen, seenLen;
  if (!typed_array(env, argv[0], &kt, &kp, &kLen) ||
      (kt != napi_uint8_array && kt != napi_uint16_array && kt != napi_uint32_array))
    return fail(env, "tsflow_encode: dense: keys is not a Uint8/16/32Array");
  void *rp, *cp[7], *ap, *outp, *sp, *stp, *seenp;
  int ok = typed_of(env, argv[1], napi_uint32_array, &rp, &rLen) &&
           typed_of(env, argv[10], napi_float64_array, &ap, &accLen) &&
           typed_of(env, argv[11], napi_float64_array, &outp, &outLen) &&
           typed_of(env, argv[13], napi_uint32_array, &sp, &spillLen) &&
           typed_of(env, argv[14], napi_float64_array, &stp, &stLen) &&
           typed_of(env, argv[15], napi_uint32_array, &seenp, &seenLen);
  for (int c = 0; c < 7; c++) ok = ok && typed_of(env, argv[3 + c], napi_float64_array, &cp[c], &len[c]);
  int64_t m = index_arg(env, argv[2]), domain = index_arg(env, argv[12]);
  if (!ok || stLen < 8 || m < 0 || (uint64_t)m > rLen || domain < 0 || (uint64_t)domain * 5 > accLen ||
      ((uint64_t)domain + 31) / 32 > seenLen)
    return fail(env, "tsflow_encode: dense: bad arguments");
  const uint32_t *rows = rp;
  const double *col[7];
  for (int c = 0; c < 7; c++) col[c] = cp[c];
  double *acc = ap, *out = outp, *st = stp;
  uint32_t *spill = sp, *seen = seenp;
  // rows at or past the shortest column are left to the JS loop
  size_t rowLimit = kLen;
  for (int c = 0; c < 7; c++)
    if (len[c] < rowLimit) rowLimit = len[c];
  const int hasOut = (uint64_t)domain * 2 <= outLen && outLen > 0;
  const double *flowsCol = col[0], *inPk = col[1], *inBy = col[2], *outPk = col[3], *outBy = col[4],
               *firstCol = col[5], *lastCol = col[6];
  size_t j;
  if (kt == napi_uint8_array)
    j = dense_u8(kp, rows, (size_t)m, rowLimit, flowsCol, inPk, inBy, outPk, outBy, firstCol, lastCol, acc, out,
                 hasOut, (uint64_t)domain, spill, spillLen, st, seen);
  else if (kt == napi_uint16_array)
    j = dense_u16(kp, rows, (size_t)m, rowLimit, flowsCol, inPk, inBy, outPk, outBy, firstCol, lastCol, acc, out,
                  hasOut, (uint64_t)domain, spill, spillLen, st, seen);
  else
    j = dense_u32(kp, rows, (size_t)m, rowLimit, flowsCol, inPk, inBy, outPk, outBy, firstCol, lastCol, acc, out,
                  hasOut, (uint64_t)domain, spill, spillLen, st, seen);
  return int_result(env, (double)j);
}

/**
 * sums(inBytes, inPackets, flows, first, last, sel, k, state): engine/sums.ts sumRows's loop — over rows sel[0, k),
 * or rows 0..k when sel is null: state[0] += inBytes, state[1] += inPackets, state[2] += flows (0 and NaN count as
 * 1), state[3] = min(state[3], first), state[4] = max(state[4], last); the sums in double in row order from 0, then
 * added to state, as the JS loop does (its caller checks them against 2^53).
 */
static napi_value js_sums(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 8)
    return fail(env, "tsflow_encode: sums(inBytes, inPackets, flows, first, last, sel, k, state)");
  void *cp[5], *sp = NULL, *stp;
  size_t len[5], selLen = 0, stLen;
  int ok = typed_of(env, argv[7], napi_float64_array, &stp, &stLen) && stLen >= 5;
  for (int c = 0; c < 5; c++) ok = ok && typed_of(env, argv[c], napi_float64_array, &cp[c], &len[c]);
  napi_valuetype selType;
  ok = ok && napi_typeof(env, argv[5], &selType) == napi_ok;
  int hasSel = ok && selType != napi_null;
  if (hasSel) ok = typed_of(env, argv[5], napi_uint32_array, &sp, &selLen);
  int64_t k = index_arg(env, argv[6]);
  size_t minLen = len[0];
  for (int c = 1; c < 5; c++)
    if (len[c] < minLen) minLen = len[c];
  if (!ok || k < 0 || (hasSel ? (uint64_t)k > selLen : (uint64_t)k > minLen))
    return fail(env, "tsflow_encode: sums: bad arguments");
  const double *by = cp[0], *pk = cp[1], *fl = cp[2], *mf = cp[3], *ml = cp[4];
  const uint32_t *sel = sp;
  double *st = stp;
  double bytes = 0, packets = 0, nflows = 0, first = st[3], last = st[4];
  const size_t kk = (size_t)k;
  if (!hasSel) {
    for (size_t i = 0; i < kk; i++) {
      bytes += by[i];
      packets += pk[i];
      const double f = fl[i];
      nflows += f == 0 || f != f ? 1 : f;
      if (mf[i] < first) first = mf[i];
      if (ml[i] > last) last = ml[i];
    }
  } else {
    for (size_t j = 0; j < kk; j++) {
      const size_t i = sel[j];
      if (i >= minLen) return fail(env, "tsflow_encode: sums: a row outside the columns");
      bytes += by[i];
      packets += pk[i];
      const double f = fl[i];
      nflows += f == 0 || f != f ? 1 : f;
      if (mf[i] < first) first = mf[i];
      if (ml[i] > last) last = ml[i];
    }
  }
  st[0] = bytes;
  st[1] = packets;
  st[2] = nflows;
  st[3] = first;
  st[4] = last;
  return NULL;
}

// ── crc32 ───────────────────────────────────────────────────────────────────────────────────────────────────

/** zlib's CRC32 table (reflected polynomial 0xedb88320), for the bytes before and after the folded part. */
static uint32_t crc_table[256];

static void crc_init(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
    crc_table[i] = c;
  }
}

/** Table-driven update of the pre-inverted crc over len bytes. */
static uint32_t crc_bytes(uint32_t c, const uint8_t *p, size_t len) {
  while (len--) c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
  return c;
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HAVE_CRC_FOLD 1

/**
 * Folding CRC32 over len bytes (len ≥ 64, a multiple of 16) with carry-less multiplication: four 128-bit lanes
 * folded 64 bytes at a time, then into one lane, then Barrett-reduced to 32 bits (Intel's "Fast CRC
 * Computation for Generic Polynomials Using PCLMULQDQ", bit-reflected constants of zlib's polynomial). `c` is
 * the pre-inverted crc; so is the result.
 */
__attribute__((target("pclmul,sse4.1"))) static uint32_t crc_fold(uint32_t c, const uint8_t *buf, size_t len) {
  const __m128i k1k2 = _mm_set_epi64x(0x01c6e41596LL, 0x0154442bd4LL);
  const __m128i k3k4 = _mm_set_epi64x(0x00ccaa009eLL, 0x01751997d0LL);
  const __m128i k5k0 = _mm_set_epi64x(0, 0x0163cd6124LL);
  const __m128i poly = _mm_set_epi64x(0x01f7011641LL, 0x01db710641LL);
  __m128i x0, x1, x2, x3, x4, x5, x6, x7, x8, y5, y6, y7, y8;
  x1 = _mm_loadu_si128((const __m128i *)(buf + 0x00));
  x2 = _mm_loadu_si128((const __m128i *)(buf + 0x10));
  x3 = _mm_loadu_si128((const __m128i *)(buf + 0x20));
  x4 = _mm_loadu_si128((const __m128i *)(buf + 0x30));
  x1 = _mm_xor_si128(x1, _mm_cvtsi32_si128((int)c));
  x0 = k1k2;
  buf += 64;
  len -= 64;
  while (len >= 64) {
    x5 = _mm_clmulepi64_si128(x1, x0, 0x00);
    x6 = _mm_clmulepi64_si128(x2, x0, 0x00);
    x7 = _mm_clmulepi64_si128(x3, x0, 0x00);
    x8 = _mm_clmulepi64_si128(x4, x0, 0x00);
    x1 = _mm_clmulepi64_si128(x1, x0, 0x11);
    x2 = _mm_clmulepi64_si128(x2, x0, 0x11);
    x3 = _mm_clmulepi64_si128(x3, x0, 0x11);
    x4 = _mm_clmulepi64_si128(x4, x0, 0x11);
    y5 = _mm_loadu_si128((const __m128i *)(buf + 0x00));
    y6 = _mm_loadu_si128((const __m128i *)(buf + 0x10));
    y7 = _mm_loadu_si128((const __m128i *)(buf + 0x20));
    y8 = _mm_loadu_si128((const __m128i *)(buf + 0x30));
    x1 = _mm_xor_si128(_mm_xor_si128(x1, x5), y5);
    x2 = _mm_xor_si128(_mm_xor_si128(x2, x6), y6);
    x3 = _mm_xor_si128(_mm_xor_si128(x3, x7), y7);
    x4 = _mm_xor_si128(_mm_xor_si128(x4, x8), y8);
    buf += 64;
    len -= 64;
  }
  // four lanes into one
  x0 = k3k4;
  x5 = _mm_clmulepi64_si128(x1, x0, 0x00);
  x1 = _mm_clmulepi64_si128(x1, x0, 0x11);
  x1 = _mm_xor_si128(_mm_xor_si128(x1, x2), x5);
  x5 = _mm_clmulepi64_si128(x1, x0, 0x00);
  x1 = _mm_clmulepi64_si128(x1, x0, 0x11);
  x1 = _mm_xor_si128(_mm_xor_si128(x1, x3), x5);
  x5 = _mm_clmulepi64_si128(x1, x0, 0x00);
  x1 = _mm_clmulepi64_si128(x1, x0, 0x11);
  x1 = _mm_xor_si128(_mm_xor_si128(x1, x4), x5);
  while (len >= 16) {
    x2 = _mm_loadu_si128((const __m128i *)buf);
    x5 = _mm_clmulepi64_si128(x1, x0, 0x00);
    x1 = _mm_clmulepi64_si128(x1, x0, 0x11);
    x1 = _mm_xor_si128(_mm_xor_si128(x1, x2), x5);
    buf += 16;
    len -= 16;
  }
  // 128 bits to 64
  x2 = _mm_clmulepi64_si128(x1, x0, 0x10);
  x3 = _mm_setr_epi32(~0, 0, ~0, 0);
  x1 = _mm_srli_si128(x1, 8);
  x1 = _mm_xor_si128(x1, x2);
  x0 = k5k0;
  x2 = _mm_srli_si128(x1, 4);
  x1 = _mm_and_si128(x1, x3);
  x1 = _mm_clmulepi64_si128(x1, x0, 0x00);
  x1 = _mm_xor_si128(x1, x2);
  // Barrett reduction to 32 bits
  x0 = poly;
  x2 = _mm_and_si128(x1, x3);
  x2 = _mm_clmulepi64_si128(x2, x0, 0x10);
  x2 = _mm_and_si128(x2, x3);
  x2 = _mm_clmulepi64_si128(x2, x0, 0x00);
  x1 = _mm_xor_si128(x1, x2);
  return (uint32_t)_mm_extract_epi32(x1, 1);
}

static int crc_fold_ok(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
}

/** zlib's crc32(seed, p, len). */
static uint32_t crc32_of(uint32_t seed, const uint8_t *p, size_t len) {
  uint32_t c = ~seed;
  if (len >= 64) {
    size_t chunk = len & ~(size_t)15;
    c = crc_fold(c, p, chunk);
    p += chunk;
    len -= chunk;
  }
  return ~crc_bytes(c, p, len);
}

/** crc32(src, off, len, seed): see the head of the file. */
static napi_value js_crc32(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 4)
    return fail(env, "tsflow_encode: crc32(src, off, len, seed)");
  uint8_t *src;
  size_t srcLen;
  if (!u8_array(env, argv[0], &src, &srcLen)) return fail(env, "tsflow_encode: crc32: src is not a Uint8Array");
  int64_t off = index_arg(env, argv[1]), len = index_arg(env, argv[2]);
  uint32_t seed;
  if (napi_get_value_uint32(env, argv[3], &seed) != napi_ok) return fail(env, "tsflow_encode: crc32: bad seed");
  if (off < 0 || len < 0 || (uint64_t)off + (uint64_t)len > srcLen)
    return fail(env, "tsflow_encode: crc32: range outside src");
  return int_result(env, (double)crc32_of(seed, src + off, (size_t)len));
}
#endif

// ── block read-ahead ────────────────────────────────────────────────────────────────────────────────────────
// The flow-file reader's next blocks read, checked and inflated while JS decodes the current one
// (src/store/read-ahead.ts is the JS side; src/store/reader.ts checks and reports as without it). A handle holds
// RA_SLOTS job slots; jobs are claimed in the order they were posted, by the handle's thread or by the caller:
// a caller waiting for a job the thread is running runs the next queued job itself instead of sleeping, so both
// cores do block work for the whole scan.
//
//   readahead() → a handle; its thread starts with the first job and ends with close (or the handle's
//     finalizer, or the environment's teardown).
//   readaheadStart(h, k, fd, offset, length, buf, arena, mask, res): posts one job in slot k (idle) — pread length
//     bytes at offset into buf; the header and data CRCs over the ranges the header gives; for each column-table
//     entry j whose file column id has mask[id] ≠ 0 and that holds size-prefixed LZ4 whose prefix is its raw
//     length, its LZ4 block decoded into arena at an 8-aligned offset. Nothing is judged here: the reader checks
//     every field as it does for a block it reads itself, and only takes the CRCs and inflated columns from res.
//     res (Float64Array ≥ 6 + 2 × mask.length): [0] bytes read (< length: a short read; -errno: failed),
//     [1] header CRC, [2] data CRC (-1: range outside the block), [3] arena bytes the masked columns need,
//     [4] entries looked at, [5] 1 when the caller ran the job (see readaheadWait), else 0; entry j: [6 + 2j]
//     its arena offset, [7 + 2j] bytes decoded, -1 when the LZ4 data does not decode, -2 when not inflated
//     here (not asked for, uncompressed, no room in the arena, ...).
//     The four arrays are kept alive until the slot's job is waited for.
//   readaheadWait(h, k, use, waitUs) → true when slot k's job is done (at once when the slot is idle), the slot
//     then free; false when the thread is still running it after waitUs µs of waiting (-1: no limit), the job
//     left running in its slot (the thread was switched out: the caller reads the block itself rather than wait
//     for a CPU to come back to the thread, and asks again later). use = 1: a job not started yet is run by the
//     caller; while the thread runs it, the caller runs the oldest queued job of another slot before it waits
//     (a short spin, then a futex). use = 0 (a job no longer wanted): a job not started is
//     dropped unrun.
//   readaheadClose(h): drops the queued jobs, tells the thread to end; neither it nor a job it still runs is waited
//     for (the job's arrays stay referenced until the handle is collected or the environment torn down).
//   readaheadStats(h, out): out (Float64Array ≥ 5) = [ns the caller waited for the thread, jobs the caller ran,
//     ns it ran them, jobs the thread ran, ns it ran them] (benchmarks).

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

typedef int (*lz4_decompress_safe_fn)(const char *src, char *dst, int compressedSize, int dstCapacity);
static lz4_decompress_safe_fn lz4_decompress_safe = NULL;
static int have_crc_fold = 0;

static uint32_t block_crc(const uint8_t *p, size_t len) {
#ifdef HAVE_CRC_FOLD
  if (have_crc_fold) return crc32_of(0, p, len);
#endif
  return ~crc_bytes(0xffffffffu, p, len);
}

enum { RA_IDLE = 0, RA_QUEUED = 1, RA_RUNNING = 2, RA_DONE = 3 };
enum { RA_READ = 0, RA_HDR_CRC = 1, RA_DATA_CRC = 2, RA_NEED = 3, RA_ENTRIES = 4, RA_BY_CALLER = 5, RA_FIRST = 6 };
#define RA_BLOCK_HEADER 32
#define RA_ENTRY_BYTES 24
#define RA_UNCOMPRESSED 1
#define RA_SLOTS 8
// how long a waiting caller, or the thread between jobs, polls before it sleeps (a futex wake-up of a sleeping
// thread costs more than a short poll on a core that is free anyway)
#define RA_SPIN_NS 20000

typedef struct {
  int state;
  uint64_t seq;
  napi_ref refs[4];
  int fd;
  int64_t offset;
  size_t length;
  uint8_t *buf, *arena;
  const uint8_t *mask;
  size_t arenaCap, columns;
  double *res;
} ra_job;

typedef struct {
  pthread_t thread;
  // joined: the thread has ended and was joined (by the finalizer or the environment's teardown, see ra_close)
  int started, closed, joined;
  // the environment's cleanup hook is registered (until the finalizer, or the teardown itself)
  int hooked;
  // futex words and flags (atomics): quit asked; `work` changes with every post and with quit; the thread sleeps
  // on `work` (idle), the caller on a job's state (waiting)
  int quit, work, idle, waiting;
  // the caller's
  uint64_t seq;
  // what each side did (readaheadStats)
  double waitNs, callerJobs, callerNs, threadJobs, threadNs;
  napi_env env;
  ra_job jobs[RA_SLOTS];
} readahead;

static inline uint32_t rd32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

static inline size_t pad8(size_t n) { return (n + 7) & ~(size_t)7; }

static void ra_run(ra_job *j) {
  double *res = j->res;
  size_t ncols = j->columns;
  res[RA_HDR_CRC] = res[RA_DATA_CRC] = -1;
  res[RA_NEED] = res[RA_ENTRIES] = res[RA_BY_CALLER] = 0;
  size_t done = 0;
  while (done < j->length) {
    ssize_t n = pread(j->fd, j->buf + done, j->length - done, (off_t)(j->offset + (int64_t)done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      res[RA_READ] = -(double)errno;
      return;
    }
    if (n == 0) break;
    done += (size_t)n;
  }
  res[RA_READ] = (double)done;
  if (done < j->length || j->length < RA_BLOCK_HEADER) return;
  const uint8_t *b = j->buf;
  size_t len = j->length;
  uint64_t zone = rd32(b + 20), dataLen = rd32(b + 24);
  if (RA_BLOCK_HEADER + zone > len) return;
  uint32_t hdrCrc = block_crc(b + 8, RA_BLOCK_HEADER - 8 + zone);
  res[RA_HDR_CRC] = hdrCrc;
  size_t d = RA_BLOCK_HEADER + zone;
  if (d + dataLen > len) return;
  uint32_t dataCrc = block_crc(b + d, dataLen);
  res[RA_DATA_CRC] = dataCrc;
  // a damaged block is reported by the reader and never decoded: nothing to inflate
  if (hdrCrc != rd32(b + 4) || dataCrc != rd32(b + 8) || dataLen < 8 || lz4_decompress_safe == NULL) return;
  size_t end = d + dataLen;
  uint64_t count = rd32(b + d);
  size_t tableEnd = d + 8 + count * RA_ENTRY_BYTES;
  if (count > ncols || tableEnd > end) return;
  size_t pos = pad8(tableEnd), at_arena = 0, need = 0;
  for (size_t k = 0; k < count; k++) {
    const uint8_t *e = b + d + 8 + k * RA_ENTRY_BYTES;
    uint16_t id;
    memcpy(&id, e, 2);
    uint8_t flags = e[4];
    uint32_t rawLength = rd32(e + 8), storedLength = rd32(e + 12);
    size_t at = pos;
    pos += pad8(storedLength);
    if (pos > end || id >= ncols) break;
    res[RA_ENTRIES] = (double)(k + 1);
    res[RA_FIRST + 2 * k] = 0;
    res[RA_FIRST + 2 * k + 1] = -2;
    if (j->mask[id] == 0 || (flags & RA_UNCOMPRESSED) != 0 || storedLength < 4 || rd32(b + at) != rawLength) continue;
    need += pad8(rawLength);
    if (at_arena + rawLength > j->arenaCap || storedLength - 4 > INT32_MAX) continue;
    size_t room = j->arenaCap - at_arena;
    int got = lz4_decompress_safe((const char *)b + at + 4, (char *)j->arena + at_arena, (int)(storedLength - 4),
                                  room > INT32_MAX ? INT32_MAX : (int)room);
    res[RA_FIRST + 2 * k] = (double)at_arena;
    res[RA_FIRST + 2 * k + 1] = got < 0 ? -1 : got;
    at_arena += pad8(rawLength);
  }
  res[RA_NEED] = (double)need;
}

static inline int ra_state(ra_job *j) { return __atomic_load_n(&j->state, __ATOMIC_SEQ_CST); }

static long ra_futex(int *word, int op, int val, const struct timespec *timeout) {
  return syscall(SYS_futex, word, op, val, timeout, NULL, 0);
}

static inline void ra_add(double *x, double v) {
  // one writer per counter; relaxed: read only by readaheadStats
  double now;
  __atomic_load(x, &now, __ATOMIC_RELAXED);
  now += v;
  __atomic_store(x, &now, __ATOMIC_RELAXED);
}

/** Claims the queued job posted first (RUNNING, for the claimer alone); NULL when none is queued. */
static ra_job *ra_claim(readahead *r) {
  for (;;) {
    ra_job *best = NULL;
    uint64_t bestSeq = 0;
    for (int k = 0; k < RA_SLOTS; k++) {
      ra_job *j = &r->jobs[k];
      if (ra_state(j) != RA_QUEUED) continue;
      uint64_t seq = __atomic_load_n(&j->seq, __ATOMIC_RELAXED);
      if (best == NULL || seq < bestSeq) {
        best = j;
        bestSeq = seq;
      }
    }
    if (best == NULL) return NULL;
    int queued = RA_QUEUED;
    if (__atomic_compare_exchange_n(&best->state, &queued, RA_RUNNING, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
      return best;
  }
}

static int64_t ra_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/** Runs job j, claimed; then DONE, the caller woken when it sleeps on it. */
static void ra_claimed(readahead *r, ra_job *j, int byCaller) {
  int64_t t0 = ra_now();
  ra_run(j);
  double ns = (double)(ra_now() - t0);
  j->res[RA_BY_CALLER] = byCaller;
  if (byCaller) {
    ra_add(&r->callerJobs, 1);
    ra_add(&r->callerNs, ns);
  } else {
    ra_add(&r->threadJobs, 1);
    ra_add(&r->threadNs, ns);
  }
  __atomic_store_n(&j->state, RA_DONE, __ATOMIC_SEQ_CST);
  if (!byCaller && __atomic_load_n(&r->waiting, __ATOMIC_SEQ_CST)) ra_futex(&j->state, FUTEX_WAKE_PRIVATE, 1, NULL);
}

static inline void ra_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

static int ra_any_queued(readahead *r) {
  for (int k = 0; k < RA_SLOTS; k++)
    if (ra_state(&r->jobs[k]) == RA_QUEUED) return 1;
  return 0;
}

/** Whether anything became queued (or quit was asked) within RA_SPIN_NS. */
static int ra_spin_for_work(readahead *r) {
  int64_t end = ra_now() + RA_SPIN_NS;
  do {
    for (int i = 0; i < 64; i++) ra_pause();
    if (__atomic_load_n(&r->quit, __ATOMIC_SEQ_CST) || ra_any_queued(r)) return 1;
  } while (ra_now() < end);
  return 0;
}

// No lock is shared with the caller: job states change by compare-and-swap, and each side sleeps on a futex word
// the other wakes only when it sleeps. The thread runs at SCHED_IDLE, so on a busy machine it can be switched out
// for a long time anywhere: a lock it held then would stop the caller too.
static void *ra_thread(void *arg) {
  readahead *r = arg;
  // on spare CPU time only: on a busy machine it never takes a CPU from the caller (which then runs the jobs not
  // started yet itself, see ra_wait) nor from other programs; on an idle core it runs at once
#ifdef SCHED_IDLE
  struct sched_param none = {0};
  pthread_setschedparam(pthread_self(), SCHED_IDLE, &none);
#endif
  for (;;) {
    ra_job *j = ra_claim(r);
    if (j != NULL) {
      ra_claimed(r, j, 0);
      continue;
    }
    if (__atomic_load_n(&r->quit, __ATOMIC_SEQ_CST)) break;
    if (ra_spin_for_work(r)) continue;
    int seen = __atomic_load_n(&r->work, __ATOMIC_SEQ_CST);
    __atomic_store_n(&r->idle, 1, __ATOMIC_SEQ_CST);
    // a post between the spin and the flag is seen here; one after it wakes the futex (or changes `work`)
    if (!ra_any_queued(r) && !__atomic_load_n(&r->quit, __ATOMIC_SEQ_CST))
      ra_futex(&r->work, FUTEX_WAIT_PRIVATE, seen, NULL);
    __atomic_store_n(&r->idle, 0, __ATOMIC_SEQ_CST);
  }
  return NULL;
}

/** Tells the thread there is a job or quit to see. */
static void ra_kick(readahead *r) {
  __atomic_add_fetch(&r->work, 1, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&r->idle, __ATOMIC_SEQ_CST)) ra_futex(&r->work, FUTEX_WAKE_PRIVATE, 1, NULL);
}

static void ra_drop_refs(readahead *r, ra_job *j, int dropRefs) {
  for (int i = 0; i < 4; i++) {
    if (dropRefs && j->refs[i] != NULL) napi_delete_reference(r->env, j->refs[i]);
    j->refs[i] = NULL;
  }
}

/**
 * Waits for slot k's job and frees the slot (1); drops its references unless the environment is going away. With
 * `use`, a job the thread has not started is run here (waiting would only add the thread's scheduling delay to
 * the caller's own read), and while the thread runs it the caller runs other queued jobs; without, a job not
 * started is dropped. A job still running after waitNs of waiting (-1: no limit) is left as it is (0).
 */
static int ra_wait(readahead *r, int k, int use, int64_t waitNs, int dropRefs) {
  ra_job *j = &r->jobs[k];
  int st = ra_state(j);
  if (st == RA_IDLE) return 1;
  if (st == RA_QUEUED) {
    int queued = RA_QUEUED;
    if (__atomic_compare_exchange_n(&j->state, &queued, use ? RA_RUNNING : RA_DONE, 0, __ATOMIC_SEQ_CST,
                                    __ATOMIC_SEQ_CST) &&
        use)
      ra_claimed(r, j, 1);
  }
  int64_t waited = 0;
  while (ra_state(j) == RA_RUNNING) {
    ra_job *other = use ? ra_claim(r) : NULL;
    if (other != NULL) {
      ra_claimed(r, other, 1);
      continue;
    }
    if (waitNs >= 0 && waited >= waitNs) return 0;
    int64_t t0 = ra_now(), spin = waitNs >= 0 && waitNs - waited < RA_SPIN_NS ? waitNs - waited : RA_SPIN_NS;
    int64_t now = t0;
    while (ra_state(j) == RA_RUNNING && now - t0 < spin) {
      for (int i = 0; i < 64; i++) ra_pause();
      now = ra_now();
    }
    waited += now - t0;
    ra_add(&r->waitNs, (double)(now - t0));
    if (ra_state(j) != RA_RUNNING || (waitNs >= 0 && waited >= waitNs)) continue;
    __atomic_store_n(&r->waiting, 1, __ATOMIC_SEQ_CST);
    int64_t s0 = ra_now();
    if (waitNs < 0) {
      ra_futex(&j->state, FUTEX_WAIT_PRIVATE, RA_RUNNING, NULL);
    } else {
      int64_t left = waitNs - waited;
      struct timespec t = {.tv_sec = left / 1000000000, .tv_nsec = left % 1000000000};
      ra_futex(&j->state, FUTEX_WAIT_PRIVATE, RA_RUNNING, &t);
    }
    __atomic_store_n(&r->waiting, 0, __ATOMIC_SEQ_CST);
    int64_t slept = ra_now() - s0;
    waited += slept;
    ra_add(&r->waitNs, (double)slept);
  }
  __atomic_store_n(&j->state, RA_IDLE, __ATOMIC_SEQ_CST);
  ra_drop_refs(r, j, dropRefs);
  return 1;
}

/**
 * Drops the queued jobs and tells the thread to end. A job still running is waited for with `waitRunning`; else
 * it is left to end on its own, its buffers kept referenced until the handle's finalizer or the environment's
 * teardown waits for it (at SCHED_IDLE on a busy machine the thread may wait long for a CPU: the caller does
 * not wait with it). The thread is told to end but joined only by ra_join, from the handle's finalizer or the
 * environment's teardown: a worker's teardown unloads this addon, and a thread still running its code then
 * would crash the process. Returns whether a job was left running.
 */
static int ra_close(readahead *r, int dropRefs, int waitRunning) {
  int left = 0;
  for (int k = 0; k < RA_SLOTS; k++) left |= !ra_wait(r, k, 0, waitRunning ? -1 : 0, dropRefs);
  if (r->closed) return left;
  r->closed = 1;
  if (r->started) {
    __atomic_store_n(&r->quit, 1, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&r->work, 1, __ATOMIC_SEQ_CST);
    ra_futex(&r->work, FUTEX_WAKE_PRIVATE, 1, NULL);
  }
  return left;
}

/** After ra_close: waits for the thread to end (it was told to), so nothing runs this addon's code any more. */
static void ra_join(readahead *r) {
  if (!r->started || r->joined) return;
  pthread_join(r->thread, NULL);
  r->joined = 1;
}

/** At the environment's teardown: the buffers of a job still running are about to be freed, so it is waited for. */
static void ra_cleanup_hook(void *arg) {
  readahead *r = arg;
  r->hooked = 0;
  ra_close(r, 0, 1);
  ra_join(r);
}

static void ra_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  readahead *r = data;
  ra_close(r, 1, 1);
  ra_join(r);
  if (r->hooked) napi_remove_env_cleanup_hook(env, ra_cleanup_hook, r);
  free(r);
}

static readahead *ra_handle(napi_env env, napi_value v) {
  void *p = NULL;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external || napi_get_value_external(env, v, &p) != napi_ok)
    return NULL;
  return p;
}

static napi_value js_readahead(napi_env env, napi_callback_info info) {
  (void)info;
  readahead *r = calloc(1, sizeof *r);
  if (r == NULL) return fail(env, "tsflow_encode: readahead: out of memory");
  r->env = env;
  napi_value out;
  if (napi_create_external(env, r, ra_finalize, NULL, &out) != napi_ok) {
    free(r);
    return NULL;
  }
  napi_add_env_cleanup_hook(env, ra_cleanup_hook, r);
  r->hooked = 1;
  return out;
}

/** Slot k of a read-ahead handle given as a call's first two arguments (NULL: thrown). */
static ra_job *ra_slot_arg(napi_env env, readahead *r, napi_value v, int *k) {
  int32_t s;
  if (napi_get_value_int32(env, v, &s) != napi_ok || s < 0 || s >= RA_SLOTS) {
    fail(env, "tsflow_encode: readahead: slot out of range");
    return NULL;
  }
  *k = s;
  return &r->jobs[s];
}

static napi_value js_readahead_start(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 9)
    return fail(env, "tsflow_encode: readaheadStart(h, k, fd, offset, length, buf, arena, mask, res)");
  readahead *r = ra_handle(env, argv[0]);
  if (r == NULL || r->closed) return fail(env, "tsflow_encode: readaheadStart: not an open handle");
  int k;
  ra_job *j = ra_slot_arg(env, r, argv[1], &k);
  if (j == NULL) return NULL;
  if (ra_state(j) != RA_IDLE) return fail(env, "tsflow_encode: readaheadStart: the slot's job is still posted");
  int32_t fd;
  int64_t offset = index_arg(env, argv[3]), length = index_arg(env, argv[4]);
  uint8_t *buf, *arena, *mask;
  size_t bufLen, arenaLen, maskLen, resLen;
  napi_typedarray_type type;
  void *resp;
  if (napi_get_value_int32(env, argv[2], &fd) != napi_ok || fd < 0 || offset < 0 || length < 0 ||
      !u8_array(env, argv[5], &buf, &bufLen) || !u8_array(env, argv[6], &arena, &arenaLen) ||
      !u8_array(env, argv[7], &mask, &maskLen) || !typed_array(env, argv[8], &type, &resp, &resLen) ||
      type != napi_float64_array)
    return fail(env, "tsflow_encode: readaheadStart: bad arguments");
  if ((uint64_t)length > bufLen || resLen < RA_FIRST + 2 * maskLen)
    return fail(env, "tsflow_encode: readaheadStart: buf or res too small");
  for (int i = 0; i < 4; i++) {
    if (napi_create_reference(env, argv[5 + i], 1, &j->refs[i]) != napi_ok) {
      ra_drop_refs(r, j, 1);
      return NULL;
    }
  }
  j->fd = fd;
  j->offset = offset;
  j->length = (size_t)length;
  j->buf = buf;
  j->arena = arena;
  j->arenaCap = arenaLen;
  j->mask = mask;
  j->columns = maskLen;
  j->res = resp;
  if (!r->started) {
    // the thread takes no signals: they stay with Node's own threads
    sigset_t all, old;
    sigfillset(&all);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int err = pthread_create(&r->thread, &attr, ra_thread, r);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (err != 0) {
      ra_drop_refs(r, j, 1);
      return fail(env, "tsflow_encode: readaheadStart: cannot start a thread");
    }
    r->started = 1;
  }
  __atomic_store_n(&j->seq, ++r->seq, __ATOMIC_RELAXED);
  __atomic_store_n(&j->state, RA_QUEUED, __ATOMIC_SEQ_CST);
  ra_kick(r);
  return NULL;
}

static napi_value js_readahead_wait(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  readahead *r = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc == 4) r = ra_handle(env, argv[0]);
  bool use;
  int32_t waitUs;
  if (r == NULL || napi_get_value_bool(env, argv[2], &use) != napi_ok ||
      napi_get_value_int32(env, argv[3], &waitUs) != napi_ok)
    return fail(env, "tsflow_encode: readaheadWait(h, k, use, waitUs): h a read-ahead handle, use a boolean");
  int k;
  if (ra_slot_arg(env, r, argv[1], &k) == NULL) return NULL;
  int done = r->closed ? 1 : ra_wait(r, k, use, waitUs < 0 ? -1 : (int64_t)waitUs * 1000, 1);
  napi_value out;
  napi_get_boolean(env, done != 0, &out);
  return out;
}

static napi_value js_readahead_stats(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  readahead *r = NULL;
  napi_typedarray_type type;
  void *p;
  size_t len;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc == 2) r = ra_handle(env, argv[0]);
  if (r == NULL || !typed_array(env, argv[1], &type, &p, &len) || type != napi_float64_array || len < 5)
    return fail(env, "tsflow_encode: readaheadStats(h, out): h a read-ahead handle, out a Float64Array(5)");
  double *out = p;
  __atomic_load(&r->waitNs, &out[0], __ATOMIC_RELAXED);
  __atomic_load(&r->callerJobs, &out[1], __ATOMIC_RELAXED);
  __atomic_load(&r->callerNs, &out[2], __ATOMIC_RELAXED);
  __atomic_load(&r->threadJobs, &out[3], __ATOMIC_RELAXED);
  __atomic_load(&r->threadNs, &out[4], __ATOMIC_RELAXED);
  return NULL;
}

static napi_value js_readahead_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  readahead *r = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc == 1) r = ra_handle(env, argv[0]);
  if (r == NULL) return fail(env, "tsflow_encode: readaheadClose(h): h a read-ahead handle");
  // the cleanup hook stays until the finalizer: the thread, told to end, is joined there or at the teardown
  if (!r->closed) ra_close(r, 1, 0);
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "encode", NAPI_AUTO_LENGTH, js_encode, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "encode", fn) != napi_ok ||
      napi_create_function(env, "sparse6", NAPI_AUTO_LENGTH, js_sparse6, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "sparse6", fn) != napi_ok ||
      napi_create_function(env, "forF64", NAPI_AUTO_LENGTH, js_for_f64, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "forF64", fn) != napi_ok ||
      napi_create_function(env, "forU32", NAPI_AUTO_LENGTH, js_for_u32, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "forU32", fn) != napi_ok ||
      napi_create_function(env, "forU16", NAPI_AUTO_LENGTH, js_for_u16, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "forU16", fn) != napi_ok ||
      napi_create_function(env, "deltaF64", NAPI_AUTO_LENGTH, js_delta_f64, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "deltaF64", fn) != napi_ok ||
      napi_create_function(env, "dense", NAPI_AUTO_LENGTH, js_dense, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "dense", fn) != napi_ok ||
      napi_create_function(env, "dict", NAPI_AUTO_LENGTH, js_dict, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "dict", fn) != napi_ok ||
      napi_create_function(env, "sums", NAPI_AUTO_LENGTH, js_sums, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "sums", fn) != napi_ok)
    return NULL;
#ifdef HAVE_CRC_FOLD
  if (crc_fold_ok()) {
    if (crc_table[1] == 0) crc_init();
    if (napi_create_function(env, "crc32", NAPI_AUTO_LENGTH, js_crc32, NULL, &fn) != napi_ok ||
        napi_set_named_property(env, exports, "crc32", fn) != napi_ok)
      return NULL;
  }
#endif
  if (lz4_compress_default == NULL) {
    void *lib = dlopen("liblz4.so.1", RTLD_NOW | RTLD_LOCAL);
    if (lib != NULL) {
      lz4_compress_default = (lz4_compress_default_fn)dlsym(lib, "LZ4_compress_default");
      lz4_decompress_safe = (lz4_decompress_safe_fn)dlsym(lib, "LZ4_decompress_safe");
    }
  }
  // the reader's read-ahead (it inflates only with liblz4; the reader inflates the rest itself)
  if (crc_table[1] == 0) crc_init();
#ifdef HAVE_CRC_FOLD
  have_crc_fold = crc_fold_ok();
#endif
  if (napi_create_function(env, "readahead", NAPI_AUTO_LENGTH, js_readahead, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "readahead", fn) != napi_ok ||
      napi_create_function(env, "readaheadStart", NAPI_AUTO_LENGTH, js_readahead_start, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "readaheadStart", fn) != napi_ok ||
      napi_create_function(env, "readaheadWait", NAPI_AUTO_LENGTH, js_readahead_wait, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "readaheadWait", fn) != napi_ok ||
      napi_create_function(env, "readaheadClose", NAPI_AUTO_LENGTH, js_readahead_close, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "readaheadClose", fn) != napi_ok ||
      napi_create_function(env, "readaheadStats", NAPI_AUTO_LENGTH, js_readahead_stats, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "readaheadStats", fn) != napi_ok)
    return NULL;
  // without liblz4 the encoders are still exported; the writer keeps lz4-napi for LZ4
  if (lz4_compress_default != NULL) {
    if (napi_create_function(env, "compress", NAPI_AUTO_LENGTH, js_compress, NULL, &fn) != napi_ok ||
        napi_set_named_property(env, exports, "compress", fn) != napi_ok)
      return NULL;
  }
  return exports;
}
