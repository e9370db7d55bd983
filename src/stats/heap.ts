// SPDX-License-Identifier: BSD-3-Clause
// Top-N selection with a bounded binary heap (never a sort of everything): O(E log N) for E candidates.
// selectTopOf does it without the arrays of all candidates and values (aggregation: millions of groups).
//
// Candidates are integers (entry ids); `value[id]` is the order value and `tie(a, b)` breaks equal values
// (negative = a first). The heap keeps the N best seen so far with the worst at the root.

export type TieBreak = (a: number, b: number) => number;

/**
 * Returns the ids of the `n` best candidates, best first. `n <= 0` means all (then a full sort is the job).
 * `ids` may be a view; it is not modified.
 */
export function selectTop(
  ids: Uint32Array,
  values: Float64Array,
  n: number,
  ascending: boolean,
  tie: TieBreak,
): Uint32Array {
  const total = ids.length;
  // a before b?
  const before = (a: number, b: number): boolean => {
    const va = values[a]!;
    const vb = values[b]!;
    if (va !== vb) return ascending ? va < vb : va > vb;
    return tie(a, b) < 0;
  };
  if (n <= 0 || n >= total) {
    const all = Uint32Array.from(ids);
    all.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
    return all;
  }
  const heap = new Uint32Array(n);
  let size = 0;
  // root = the worst kept candidate: heap order is "worse above"
  const siftUp = (i: number): void => {
    const x = heap[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const y = heap[p]!;
      if (!before(y, x)) break; // parent is already worse or equal
      heap[i] = y;
      i = p;
    }
    heap[i] = x;
  };
  const siftDown = (i: number): void => {
    const x = heap[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= size) break;
      const r = l + 1;
      let w = l;
      if (r < size && before(heap[l]!, heap[r]!)) w = r; // the worse child
      const y = heap[w]!;
      if (!before(x, y)) break;
      heap[i] = y;
      i = w;
    }
    heap[i] = x;
  };
  for (let k = 0; k < total; k++) {
    const id = ids[k]!;
    if (size < n) {
      heap[size] = id;
      siftUp(size++);
    } else if (before(id, heap[0]!)) {
      heap[0] = id;
      siftDown(0);
    }
  }
  const out = heap.subarray(0, size);
  out.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
  return out;
}

/**
 * selectTop over the ids 0..count-1 whose values come from `value(id)` (computed once each), ties to the
 * smaller id: the best `n` (1 <= n) without an array of all ids and values.
 */
export function selectTopOf(count: number, value: (id: number) => number, n: number, ascending: boolean): Uint32Array {
  const cap = Math.max(0, Math.min(n, count));
  const ids = new Uint32Array(cap);
  const vals = new Float64Array(cap);
  let size = 0;
  // (va, a) before (vb, b)?
  const before = (va: number, a: number, vb: number, b: number): boolean =>
    va !== vb ? (ascending ? va < vb : va > vb) : a < b;
  for (let id = 0; id < count; id++) {
    const v = value(id);
    let i: number;
    if (size < cap) {
      // sift up: the root stays the worst kept
      i = size++;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!before(vals[p]!, ids[p]!, v, id)) break;
        ids[i] = ids[p]!;
        vals[i] = vals[p]!;
        i = p;
      }
    } else if (cap > 0 && before(v, id, vals[0]!, ids[0]!)) {
      // replace the root, sift down
      i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= size) break;
        let w = l;
        if (l + 1 < size && before(vals[l]!, ids[l]!, vals[l + 1]!, ids[l + 1]!)) w = l + 1;
        if (!before(v, id, vals[w]!, ids[w]!)) break;
        ids[i] = ids[w]!;
        vals[i] = vals[w]!;
        i = w;
      }
    } else continue;
    ids[i] = id;
    vals[i] = v;
  }
  const order = Array.from({ length: size }, (_, k) => k).sort((x, y) =>
    before(vals[x]!, ids[x]!, vals[y]!, ids[y]!) ? -1 : 1,
  );
  return Uint32Array.from(order, (k) => ids[k]!);
}
