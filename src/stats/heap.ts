// SPDX-License-Identifier: BSD-3-Clause
// Top-N selection with a bounded binary heap (never a sort of everything): O(E log N) for E candidates.
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
