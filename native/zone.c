// SPDX-License-Identifier: BSD-3-Clause
// The per-row work of the writer's zone maps (src/store/zone-map.ts, ZoneBuilder), for tscapd's writer thread:
// the v4/v6 masks of a block, and per addr column its address set (distinct IPv4 /24s, sorted; distinct IPv6
// /64s, sorted, with their min/max), the column's min/max over its IPv4 rows, and its host Bloom filter. The
// output is the same bytes as the TS code's (ZoneBuilder's JS path, kept as the fallback and the tests'
// reference): same limits and overflow rule, same sort order, same hashes, same distinct estimate (V8's Math.log is
// fdlibm's log, ported below, and Math.round rounds half up).
//
//   create(v4Limit, v6Limit) → scratch (an external; its buffers grow with n and are freed with it)
//   masks(n, v6Flags: Uint8Array, bits) → v4Mask | v6Mask << 8 over the addr bits `bits`, or -1 (bad arguments)
//   column(scratch, n, a4: Uint32Array, a6: Uint32Array, v6Flags: Uint8Array, bit, id, mode, seed,
//          setOut: Uint8Array, setOffset, bloomOut: Uint8Array, bloomOffset, res: Float64Array(4)) → status
//     mode 0: only the min/max over the IPv4 rows; 1: the address set too; 2: and the Bloom filter (seed: its seed)
//     res ← [min, max over the IPv4 rows (Infinity, -Infinity: none), set part bytes, Bloom part bytes]
//     status 0: written at setOut[setOffset…] and bloomOut[bloomOffset…]; -1: bad arguments (nothing written;
//     the caller uses its JS path); -2: an output is too small (res[2], res[3] are the sizes needed; nothing
//     written, call again with larger outputs).
//
// Every length is checked: n against the arrays it indexes (and ≤ 2^24 rows), offsets against their outputs; the
// scratch buffers are sized by n and the set limits (a limit above the possible count of distinct values is cut
// to it).

#define NAPI_VERSION 8
#include <math.h>
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ROWS (1u << 24)
#define SCRATCH_MAGIC 0x7a6f6e65u
/* ZoneBuilder's BLOOM_PROBES and BLOOM_BITS_PER_VALUE (zone-map.ts) */
#define BLOOM_K 5
#define BLOOM_BITS_PER_VALUE 8

#define CHECK(call)                                                                                            \
  do {                                                                                                         \
    if ((call) != napi_ok) {                                                                                   \
      napi_throw_error(env, NULL, "tsflow_zone: " #call " failed");                                           \
      return NULL;                                                                                             \
    }                                                                                                          \
  } while (0)

// ── fdlibm's log (as V8's base::ieee754::log, which Math.log calls) ─────────────────────────────────────────
//
// ====================================================
// Copyright (C) 1993 by Sun Microsystems, Inc. All rights reserved.
//
// Developed at SunSoft, a Sun Microsystems, Inc. business.
// Permission to use, copy, modify, and distribute this
// software is freely granted, provided that this notice
// is preserved.
// ====================================================

static inline uint32_t hi_word(double x) {
  uint64_t u;
  memcpy(&u, &x, 8);
  return (uint32_t)(u >> 32);
}

static inline uint32_t lo_word(double x) {
  uint64_t u;
  memcpy(&u, &x, 8);
  return (uint32_t)u;
}

static inline double set_hi_word(double x, uint32_t hi) {
  uint64_t u;
  memcpy(&u, &x, 8);
  u = ((uint64_t)hi << 32) | (uint32_t)u;
  memcpy(&x, &u, 8);
  return x;
}

static double fdlibm_log(double x) {
  static const double ln2_hi = 6.93147180369123816490e-01, /* 3fe62e42 fee00000 */
      ln2_lo = 1.90821492927058770002e-10,                 /* 3dea39ef 35793c76 */
      two54 = 1.80143985094819840000e+16,                  /* 43500000 00000000 */
      Lg1 = 6.666666666666735130e-01,                      /* 3FE55555 55555593 */
      Lg2 = 3.999999999940941908e-01,                      /* 3FD99999 9997FA04 */
      Lg3 = 2.857142874366239149e-01,                      /* 3FD24924 94229359 */
      Lg4 = 2.222219843214978396e-01,                      /* 3FCC71C5 1D8E78AF */
      Lg5 = 1.818357216161805012e-01,                      /* 3FC74664 96CB03DE */
      Lg6 = 1.531383769920937332e-01,                      /* 3FC39A09 D078C69F */
      Lg7 = 1.479819860511658591e-01;                      /* 3FC2F112 DF3E5244 */
  double hfsq, f, s, z, R, w, t1, t2, dk;
  int32_t k, hx, i, j;
  uint32_t lx;

  hx = (int32_t)hi_word(x);
  lx = lo_word(x);
  k = 0;
  if (hx < 0x00100000) { /* x < 2**-1022 */
    if (((hx & 0x7fffffff) | lx) == 0) return -INFINITY;
    if (hx < 0) return NAN;
    k -= 54;
    x *= two54; /* subnormal number, scale up x */
    hx = (int32_t)hi_word(x);
  }
  if (hx >= 0x7ff00000) return x + x;
  k += (hx >> 20) - 1023;
  hx &= 0x000fffff;
  i = (hx + 0x95f64) & 0x100000;
  x = set_hi_word(x, (uint32_t)(hx | (i ^ 0x3ff00000))); /* normalize x or x/2 */
  k += (i >> 20);
  f = x - 1.0;
  if ((0x000fffff & (2 + hx)) < 3) { /* -2**-20 <= f < 2**-20 */
    if (f == 0.0) {
      if (k == 0) return 0.0;
      dk = (double)k;
      return dk * ln2_hi + dk * ln2_lo;
    }
    R = f * f * (0.5 - 0.33333333333333333 * f);
    if (k == 0) return f - R;
    dk = (double)k;
    return dk * ln2_hi - ((R - dk * ln2_lo) - f);
  }
  s = f / (2.0 + f);
  dk = (double)k;
  z = s * s;
  i = hx - 0x6147a;
  w = z * z;
  j = 0x6b851 - hx;
  t1 = w * (Lg2 + w * (Lg4 + w * Lg6));
  t2 = z * (Lg1 + w * (Lg3 + w * (Lg5 + w * Lg7)));
  i |= j;
  R = t2 + t1;
  if (i > 0) {
    hfsq = 0.5 * f * f;
    if (k == 0) return f - (hfsq - s * (hfsq + R));
    return dk * ln2_hi - ((hfsq - (s * (hfsq + R) + dk * ln2_lo)) - f);
  }
  if (k == 0) return f - s * (f - R);
  return dk * ln2_hi - ((s * (f - R) - dk * ln2_lo) - f);
}

/** JS Math.round of x ≥ 0 (half up). */
static inline double js_round(double x) {
  double r = floor(x);
  return x - r >= 0.5 ? r + 1.0 : r;
}

// ── hashes (zone-map.ts: fmix32, bloomHash4, bloomHash6, bloomMask, bloomWord) ──────────────────────────────

static inline uint32_t fmix32(uint32_t h) {
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

static inline uint32_t bloom_hash4(uint32_t a, uint32_t seed) { return fmix32(a ^ seed ^ 0x3c6ef372u); }

static inline uint32_t bloom_hash6(uint32_t w0, uint32_t w1, uint32_t w2, uint32_t w3, uint32_t seed) {
  return fmix32(w0 ^ fmix32(w1 ^ fmix32(w2 ^ fmix32(w3 ^ seed ^ 0xa54ff53au))));
}

/** The k = 5 bit mask of hash h in its word: bit positions (h2 >> 5j) & 31, h2 = fmix32(h ^ 0x9e3779b9). */
static inline uint32_t bloom_mask(uint32_t h) {
  const uint32_t h2 = fmix32(h ^ 0x9e3779b9u);
  return 1u << (h2 & 31) | 1u << ((h2 >> 5) & 31) | 1u << ((h2 >> 10) & 31) | 1u << ((h2 >> 15) & 31) |
         1u << ((h2 >> 20) & 31);
}

static inline void put16(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}

static inline void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}

static inline uint32_t get32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/**
 * ⌊h · w / 2^32⌋ as JS computes it, in doubles: exact while h · w < 2^53 (`exact`: w < 2^21, every block of up
 * to 2^24 rows but one whose bitmap estimate is far above its row count), else rounded as JS rounds it.
 */
static inline uint32_t bloom_word(uint32_t h, uint32_t w, const int exact) {
  if (exact) return (uint32_t)(((uint64_t)h * w) >> 32);
  return (uint32_t)floor(((double)h * (double)w) / 4294967296.0);
}

/** Bloom filter pass 2: the filter words (little-endian, zeroed) over the IPv4 hashes and every IPv6 row. */
static inline __attribute__((always_inline)) void bloom_fill(uint8_t *words, uint32_t w, const int exact,
                                                             const uint32_t *hashes, uint32_t d,
                                                             const uint32_t *idx6, uint32_t k6,
                                                             const uint32_t *a6, uint32_t seed) {
  for (uint32_t i = 0; i < d; i++) {
    const uint32_t h = hashes[i];
    uint8_t *p = words + 4 * (size_t)bloom_word(h, w, exact);
    put32(p, get32(p) | bloom_mask(h));
  }
  for (uint32_t j = 0; j < k6; j++) {
    const size_t r = (size_t)idx6[j] * 4;
    const uint32_t h = bloom_hash6(a6[r], a6[r + 1], a6[r + 2], a6[r + 3], seed);
    uint8_t *p = words + 4 * (size_t)bloom_word(h, w, exact);
    put32(p, get32(p) | bloom_mask(h));
  }
}

// ── scratch ───────────────────────────────────────────────────────────────────────────────────────────────

typedef struct {
  uint32_t magic;
  uint32_t v4_limit; /* ≤ 2^24: there are no more /24s */
  uint32_t v6_limit; /* ≤ MAX_ROWS: no block has more /64s */
  uint32_t rows;     /* capacity of idx6, hashes: rows */
  uint32_t *idx6;    /* IPv6 rows */
  uint32_t *hashes;  /* Bloom hashes of the IPv4 rows (a run of one host once) */
  uint32_t seen_words;
  uint32_t *seen; /* linear-counting bitmap, seen_words words */
  uint32_t cap4;  /* capacity of set4, tmp4: min(v4_limit + 1, rows) */
  uint32_t *set4;
  uint32_t *tmp4;
  uint32_t hash4_bits;
  uint32_t *hash4; /* /24 + 1, 0 empty; ≥ 4 × cap4 slots */
  uint32_t cap6;   /* capacity of set6: min(v6_limit, rows) */
  uint64_t *set6;
  uint32_t hash6_bits;
  uint32_t *hash6; /* index into set6 + 1, 0 empty; ≥ 4 × (cap6 + 1) slots */
} Scratch;

static void scratch_free(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  Scratch *s = data;
  free(s->idx6);
  free(s->hashes);
  free(s->seen);
  free(s->set4);
  free(s->tmp4);
  free(s->hash4);
  free(s->set6);
  free(s->hash6);
  free(s);
}

static uint32_t table_bits(uint64_t entries) {
  uint32_t bits = 6;
  while ((1ull << bits) < 4 * (entries + 1)) bits++;
  return bits;
}

/** Sizes the scratch for n rows (n ≤ MAX_ROWS): 0 when out of memory. */
static int scratch_reserve(Scratch *s, uint32_t n) {
  if (s->idx6 != NULL && n <= s->rows) return 1;
  uint32_t rows = n < 1024 ? 1024 : n;
  uint32_t cap4 = s->v4_limit + 1u < rows ? s->v4_limit + 1u : rows;
  uint32_t cap6 = s->v6_limit < rows ? s->v6_limit : rows;
  uint32_t bits4 = table_bits(cap4), bits6 = table_bits(cap6);
  /* the linear-counting bitmap: one bit per row rounded up to a power of two, at least 64 */
  uint64_t bm = 64;
  while (bm < rows) bm *= 2;
  uint32_t *idx6 = malloc((size_t)rows * 4), *hashes = malloc((size_t)rows * 4);
  uint32_t *seen = malloc((size_t)(bm / 32) * 4);
  uint32_t *set4 = malloc((size_t)cap4 * 4), *tmp4 = malloc((size_t)cap4 * 4);
  uint32_t *hash4 = malloc(((size_t)1 << bits4) * 4), *hash6 = malloc(((size_t)1 << bits6) * 4);
  uint64_t *set6 = malloc((size_t)(cap6 ? cap6 : 1) * 8);
  if (!idx6 || !hashes || !seen || !set4 || !tmp4 || !hash4 || !hash6 || !set6) {
    free(idx6);
    free(hashes);
    free(seen);
    free(set4);
    free(tmp4);
    free(hash4);
    free(hash6);
    free(set6);
    return 0;
  }
  free(s->idx6);
  free(s->hashes);
  free(s->seen);
  free(s->set4);
  free(s->tmp4);
  free(s->hash4);
  free(s->hash6);
  free(s->set6);
  s->rows = rows;
  s->idx6 = idx6;
  s->hashes = hashes;
  s->seen_words = (uint32_t)(bm / 32);
  s->seen = seen;
  s->cap4 = cap4;
  s->set4 = set4;
  s->tmp4 = tmp4;
  s->hash4_bits = bits4;
  s->hash4 = hash4;
  s->cap6 = cap6;
  s->set6 = set6;
  s->hash6_bits = bits6;
  s->hash6 = hash6;
  return 1;
}

// ── sorting ───────────────────────────────────────────────────────────────────────────────────────────────

/** Sorts d values < 2^24 (the /24s): LSD radix sort, 3 × 8 bits, through tmp (d entries). */
static void sort24(uint32_t *a, uint32_t *tmp, uint32_t d) {
  if (d < 32) {
    for (uint32_t i = 1; i < d; i++) {
      uint32_t x = a[i], j = i;
      for (; j > 0 && a[j - 1] > x; j--) a[j] = a[j - 1];
      a[j] = x;
    }
    return;
  }
  uint32_t *src = a, *dst = tmp;
  for (int shift = 0; shift < 24; shift += 8) {
    uint32_t count[256] = {0};
    for (uint32_t i = 0; i < d; i++) count[(src[i] >> shift) & 255]++;
    uint32_t sum = 0;
    for (int b = 0; b < 256; b++) {
      uint32_t c = count[b];
      count[b] = sum;
      sum += c;
    }
    for (uint32_t i = 0; i < d; i++) dst[count[(src[i] >> shift) & 255]++] = src[i];
    uint32_t *t = src;
    src = dst;
    dst = t;
  }
  /* three passes: the result is in tmp */
  memcpy(a, src, (size_t)d * 4);
}

/** Sorts distinct u64 keys (the /64s): quicksort, insertion sort below 16, recursing into the smaller side. */
static void sort64(uint64_t *a, uint32_t d) {
  while (d >= 16) {
    uint64_t x = a[0], y = a[d / 2], z = a[d - 1];
    uint64_t pivot = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
    uint32_t i = 0, j = d - 1;
    for (;;) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i >= j) break;
      uint64_t t = a[i];
      a[i] = a[j];
      a[j] = t;
      i++;
      j--;
    }
    /* [0, j] ≤ pivot ≤ [j + 1, d) */
    uint32_t left = j + 1;
    if (left < d - left) {
      sort64(a, left);
      a += left;
      d -= left;
    } else {
      sort64(a + left, d - left);
      d = left;
    }
  }
  for (uint32_t i = 1; i < d; i++) {
    uint64_t x = a[i];
    uint32_t j = i;
    for (; j > 0 && a[j - 1] > x; j--) a[j] = a[j - 1];
    a[j] = x;
  }
}

// ── arguments ─────────────────────────────────────────────────────────────────────────────────────────────

static int typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *length) {
  napi_typedarray_type type;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, length, data, &buffer, &offset) != napi_ok) return 0;
  if (type != want) return 0;
  if (*length == 0) *data = NULL;
  return 1;
}

/** An integer argument in [0, max]; 0 when it is not a number, not an integer, or out of range. */
static int uint_arg(napi_env env, napi_value v, double max, uint32_t *out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) return 0;
  if (!(d >= 0 && d <= max) || d != floor(d)) return 0;
  *out = (uint32_t)d;
  return 1;
}

static napi_value int_result(napi_env env, int32_t r) {
  napi_value out;
  CHECK(napi_create_int32(env, r, &out));
  return out;
}

static napi_value create(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  double v4, v6;
  if (argc != 2 || napi_get_value_double(env, argv[0], &v4) != napi_ok ||
      napi_get_value_double(env, argv[1], &v6) != napi_ok || !(v4 >= 0) || !(v6 >= 0) || v4 != floor(v4) ||
      v6 != floor(v6)) {
    napi_throw_type_error(env, NULL, "tsflow_zone: create(v4Limit, v6Limit): non-negative integers");
    return NULL;
  }
  Scratch *s = calloc(1, sizeof *s);
  if (s == NULL) {
    napi_throw_error(env, NULL, "tsflow_zone: out of memory");
    return NULL;
  }
  s->magic = SCRATCH_MAGIC;
  /* a limit at or above the number of possible distinct values behaves like that number */
  s->v4_limit = v4 >= (double)(1u << 24) ? (1u << 24) : (uint32_t)v4;
  s->v6_limit = v6 >= (double)MAX_ROWS ? MAX_ROWS : (uint32_t)v6;
  napi_value ext;
  if (napi_create_external(env, s, scratch_free, NULL, &ext) != napi_ok) {
    scratch_free(env, s, NULL);
    napi_throw_error(env, NULL, "tsflow_zone: napi_create_external failed");
    return NULL;
  }
  return ext;
}

static napi_value masks(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint32_t n, bits;
  uint8_t *flags;
  size_t flagsLen;
  if (argc != 3 || !uint_arg(env, argv[0], 4294967295.0, &n) ||
      !typed(env, argv[1], napi_uint8_array, (void **)&flags, &flagsLen) || !uint_arg(env, argv[2], 255, &bits) ||
      n > flagsLen)
    return int_result(env, -1);
  if (n == 0) return int_result(env, 0);
  uint32_t any = 0, all = 0xff;
  for (uint32_t i = 0; i < n; i++) {
    any |= flags[i];
    all &= flags[i];
  }
  /* v4Mask: some row without the bit; v6Mask: some row with it */
  return int_result(env, (int32_t)((~all & bits) | (any & bits) << 8));
}

/** What the pass over the rows found (column()). */
typedef struct {
  uint32_t k6, d, d4, mn, mx;
} Pass1;

/**
 * The pass over the rows of column(): IPv6 row indexes into idx6; over the IPv4 rows their min/max, the distinct
 * /24s through a hash set (a run of one prefix costs a compare) stopping past the limit, and with `bloom` the
 * Bloom filter's first pass (the hash of each host run, the linear-counting bitmap). Inlined twice, with and
 * without `bloom`, to keep the loop's variables in registers.
 */
static inline __attribute__((always_inline)) Pass1 pass1(uint32_t n, const uint32_t *a4, const uint8_t *flags,
                                                         uint32_t bit, uint32_t seed, const int bloom,
                                                         uint32_t bmask, uint32_t *seen, uint32_t *hashes,
                                                         uint32_t *idx6, uint32_t *hash4, uint32_t hmask,
                                                         uint32_t hshift, uint32_t *set4, uint32_t limit4) {
  uint32_t k6 = 0, d = 0, d4 = 0, mn = UINT32_MAX, mx = 0;
  uint64_t lastA = UINT64_MAX;
  uint32_t last = UINT32_MAX; /* no /24 (they are < 2^24) */
  for (uint32_t i = 0; i < n; i++) {
    if (flags[i] & bit) {
      idx6[k6++] = i;
      continue;
    }
    const uint32_t a = a4[i];
    mn = a < mn ? a : mn;
    mx = a > mx ? a : mx;
    if (bloom && a != lastA) {
      lastA = a;
      const uint32_t h = bloom_hash4(a, seed);
      hashes[d++] = h;
      const uint32_t b = h & bmask;
      seen[b >> 5] |= 1u << (b & 31);
    }
    const uint32_t p = a >> 8;
    if (p == last || d4 > limit4) continue;
    last = p;
    uint32_t q = (p * 0x9e3779b1u) >> hshift;
    uint32_t e = hash4[q];
    while (e != 0 && e != p + 1) {
      q = (q + 1) & hmask;
      e = hash4[q];
    }
    if (e == 0) {
      hash4[q] = p + 1;
      set4[d4++] = p; /* d4 ≤ min(limit + 1, n) = cap4: the (limit + 1)th marks the overflow */
    }
  }
  return (Pass1){k6, d, d4, mn, mx};
}

/** The address set, the IPv4 min/max and the Bloom filter of one addr column (layout in zone-map.ts). */
static napi_value column(napi_env env, napi_callback_info info) {
  size_t argc = 14;
  napi_value argv[14];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  Scratch *s;
  uint32_t n, bit, id, mode, seed, setOff, bloomOff;
  uint32_t *a4, *a6;
  uint8_t *flags, *setOut, *bloomOut;
  double *res;
  size_t a4Len, a6Len, flagsLen, setLen, bloomLen, resLen;
  if (argc != 14 || napi_get_value_external(env, argv[0], (void **)&s) != napi_ok || s == NULL ||
      s->magic != SCRATCH_MAGIC || !uint_arg(env, argv[1], MAX_ROWS, &n) ||
      !typed(env, argv[2], napi_uint32_array, (void **)&a4, &a4Len) ||
      !typed(env, argv[3], napi_uint32_array, (void **)&a6, &a6Len) ||
      !typed(env, argv[4], napi_uint8_array, (void **)&flags, &flagsLen) || !uint_arg(env, argv[5], 255, &bit) ||
      !uint_arg(env, argv[6], 65535, &id) || !uint_arg(env, argv[7], 2, &mode) ||
      !uint_arg(env, argv[8], 4294967295.0, &seed) ||
      !typed(env, argv[9], napi_uint8_array, (void **)&setOut, &setLen) ||
      !uint_arg(env, argv[10], 4294967295.0, &setOff) ||
      !typed(env, argv[11], napi_uint8_array, (void **)&bloomOut, &bloomLen) ||
      !uint_arg(env, argv[12], 4294967295.0, &bloomOff) ||
      !typed(env, argv[13], napi_float64_array, (void **)&res, &resLen) || resLen < 4 || n > a4Len ||
      n > flagsLen || setOff > setLen || bloomOff > bloomLen)
    return int_result(env, -1);

  if (mode == 0) {
    /* v4Range: min/max over the IPv4 rows, no set */
    uint32_t mn = UINT32_MAX, mx = 0, k4 = 0;
    for (uint32_t i = 0; i < n; i++) {
      if (flags[i] & bit) continue;
      uint32_t a = a4[i];
      k4++;
      if (a < mn) mn = a;
      if (a > mx) mx = a;
    }
    res[0] = k4 ? (double)mn : INFINITY;
    res[1] = k4 ? (double)mx : -INFINITY;
    res[2] = 0;
    res[3] = 0;
    return int_result(env, 0);
  }
  if (!scratch_reserve(s, n)) {
    napi_throw_error(env, NULL, "tsflow_zone: out of memory");
    return NULL;
  }
  const int bloom = mode == 2;

  /* the rows: IPv4 min/max, /24s, Bloom pass 1 (bitmap of one bit per row rounded up to a power of two) */
  uint64_t bm = 64;
  while (bm < n) bm *= 2;
  const uint32_t bw = (uint32_t)(bm / 32), bmask = (uint32_t)(bm - 1);
  uint32_t *seen = s->seen, *hashes = s->hashes, *idx6 = s->idx6, *set4 = s->set4;
  if (bloom) memset(seen, 0, (size_t)bw * 4);
  uint32_t *hash4 = s->hash4;
  const uint32_t hmask = (1u << s->hash4_bits) - 1, hshift = 32 - s->hash4_bits;
  memset(hash4, 0, ((size_t)hmask + 1) * 4);
  const uint32_t limit4 = s->v4_limit;
  Pass1 r = bloom ? pass1(n, a4, flags, bit, seed, 1, bmask, seen, hashes, idx6, hash4, hmask, hshift, set4, limit4)
                  : pass1(n, a4, flags, bit, seed, 0, bmask, seen, hashes, idx6, hash4, hmask, hshift, set4, limit4);
  const uint32_t k6 = r.k6, k4 = n - k6, d = r.d, d4 = r.d4, mn = r.mn, mx = r.mx;
  const uint32_t v4State = k4 == 0 ? 0 : d4 > limit4 ? 2 : 1;

  /* IPv6 rows: distinct /64s through a hash set, stopping past the limit; min/max over every row */
  if (k6 > 0 && ((uint64_t)idx6[k6 - 1] + 1) * 4 > a6Len) return int_result(env, -1);
  uint64_t *set6 = s->set6;
  const uint32_t limit6 = s->v6_limit;
  uint32_t d6 = 0;
  int overflow6 = 0;
  uint64_t min6 = 0, max6 = 0;
  if (k6 > 0) {
    uint32_t *hash6 = s->hash6;
    const uint32_t mask6 = (1u << s->hash6_bits) - 1, shift6 = 64 - s->hash6_bits;
    memset(hash6, 0, ((size_t)mask6 + 1) * 4);
    min6 = max6 = (uint64_t)a6[(size_t)idx6[0] * 4] << 32 | a6[(size_t)idx6[0] * 4 + 1];
    uint64_t lastKey = 0;
    int haveLast = 0;
    for (uint32_t j = 0; j < k6; j++) {
      const size_t r = (size_t)idx6[j] * 4;
      const uint64_t key = (uint64_t)a6[r] << 32 | a6[r + 1];
      if (haveLast && key == lastKey) continue;
      haveLast = 1;
      lastKey = key;
      if (key < min6) min6 = key;
      if (key > max6) max6 = key;
      if (overflow6) continue;
      uint32_t q = (uint32_t)((key * 0x9e3779b97f4a7c15ull) >> shift6);
      uint32_t e = hash6[q];
      while (e != 0 && set6[e - 1] != key) {
        q = (q + 1) & mask6;
        e = hash6[q];
      }
      if (e != 0) continue;
      if (d6 == limit6) {
        overflow6 = 1;
        continue;
      }
      set6[d6] = key; /* d6 < min(limit6, k6) ≤ cap6 */
      hash6[q] = ++d6;
    }
  }
  const uint32_t v6State = k6 == 0 ? 0 : overflow6 ? 2 : 1;
  const uint32_t n4 = v4State == 1 ? d4 : 0, n6 = v6State == 1 ? d6 : 0;
  const uint64_t start6 = (32 + (uint64_t)n4 * 4 + 7) & ~(uint64_t)7;
  const uint64_t setSize = (start6 + (uint64_t)n6 * 8 + 7) & ~(uint64_t)7;

  /* Bloom filter, distinct values: linear counting over the bitmap, plus every IPv6 row */
  uint64_t bloomSize = 0, distinct = 0, w = 0;
  if (bloom) {
    uint64_t ones = 0;
    for (uint32_t q = 0; q < bw; q++) ones += (uint64_t)__builtin_popcount(seen[q]);
    const double distinct4 =
        ones >= bm ? (double)n : js_round(-(double)bm * fdlibm_log(1.0 - (double)ones / (double)bm));
    const double dd = distinct4 + (double)k6;
    distinct = dd < 1 ? 1 : (uint64_t)dd;
    /* ⌈distinct · 8 / 32⌉ words, at least 2 */
    w = (distinct * BLOOM_BITS_PER_VALUE + 31) / 32;
    if (w < 2) w = 2;
    bloomSize = 16 + w * 4;
  }
  if (setSize > setLen - setOff || bloomSize > bloomLen - bloomOff) {
    res[2] = (double)setSize;
    res[3] = (double)bloomSize;
    return int_result(env, -2);
  }

  /* the set part */
  uint8_t *o = setOut + setOff;
  memset(o, 0, (size_t)setSize);
  put16(o, id);
  o[2] = (uint8_t)v4State;
  o[3] = (uint8_t)v6State;
  put32(o + 4, n4);
  put32(o + 8, n6);
  if (k6 > 0) {
    put32(o + 16, (uint32_t)(min6 >> 32));
    put32(o + 20, (uint32_t)min6);
    put32(o + 24, (uint32_t)(max6 >> 32));
    put32(o + 28, (uint32_t)max6);
  }
  if (n4 > 0) {
    sort24(set4, s->tmp4, n4);
    for (uint32_t i = 0; i < n4; i++) put32(o + 32 + 4 * (size_t)i, set4[i]);
  }
  if (n6 > 0) {
    sort64(set6, n6);
    for (uint32_t i = 0; i < n6; i++) {
      put32(o + start6 + 8 * (size_t)i, (uint32_t)(set6[i] >> 32));
      put32(o + start6 + 8 * (size_t)i + 4, (uint32_t)set6[i]);
    }
  }

  /* the Bloom part: the filter over the IPv4 hashes and every IPv6 row */
  if (bloom) {
    uint8_t *b = bloomOut + bloomOff;
    memset(b, 0, (size_t)bloomSize);
    put16(b, id);
    b[2] = BLOOM_K;
    b[3] = 1;
    put32(b + 4, (uint32_t)(w * 32));
    put32(b + 8, (uint32_t)distinct);
    put32(b + 12, seed);
    if (w < (1u << 21)) bloom_fill(b + 16, (uint32_t)w, 1, hashes, d, idx6, k6, a6, seed);
    else bloom_fill(b + 16, (uint32_t)w, 0, hashes, d, idx6, k6, a6, seed);
  }
  res[0] = k4 ? (double)mn : INFINITY;
  res[1] = k4 ? (double)mx : -INFINITY;
  res[2] = (double)setSize;
  res[3] = (double)bloomSize;
  return int_result(env, 0);
}

NAPI_MODULE_INIT() {
  static const struct {
    const char *name;
    napi_callback fn;
  } fns[] = {{"create", create}, {"masks", masks}, {"column", column}};
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value fn;
    CHECK(napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &fn));
    CHECK(napi_set_named_property(env, exports, fns[i].name, fn));
  }
  return exports;
}
