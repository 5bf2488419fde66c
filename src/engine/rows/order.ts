// Puts a view's row ids in order by their typed keys (keys.ts): stable radix sorts, column by
// column from the last sort column to the first, so ties fall to the next column and finally to
// file order. Numbers sort by their IEEE bits; texts by an MSD radix sort over two code units at
// a time (skipping prefixes a whole group shares). No comparator runs over the bulk of the
// rows; one is used only for the first window (top-N), small groups and merging new rows in.
import { compareRows, compareText, NUMBER, TEXT, type KeyColumn } from './keys';

/** Groups at most this large are insertion sorted. */
const SMALL = 24;
/** Radix digits of 16 bits for groups this large, 8 bits below. */
const WIDE = 1 << 15;
/** Work (rows handled) between two yields of a sort. */
const SLICE = 1 << 16;

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const HI = LITTLE_ENDIAN ? 1 : 0;
const LO = LITTLE_ENDIAN ? 0 : 1;

/** Position-aligned work arrays: ids with their current radix key (hi:lo), and as much scratch. */
class Work {
  ids: Uint32Array;
  hi: Uint32Array;
  lo: Uint32Array;
  ids2: Uint32Array;
  hi2: Uint32Array;
  lo2: Uint32Array;
  readonly starts = new Uint32Array(1 << 16);
  private readonly counts8 = new Uint32Array(8 * 256);
  private counts16: Uint32Array | null = null;
  /** Whether the data currently sits in the "2" arrays (after an odd number of passes). */
  private swapped = false;
  constructor(n: number) {
    this.ids = new Uint32Array(n);
    this.hi = new Uint32Array(n);
    this.lo = new Uint32Array(n);
    this.ids2 = new Uint32Array(n);
    this.hi2 = new Uint32Array(n);
    this.lo2 = new Uint32Array(n);
  }

  counts(bits: number): Uint32Array {
    return bits === 16 ? (this.counts16 ??= new Uint32Array(4 << 16)) : this.counts8;
  }

  swap(): void {
    [this.ids, this.ids2] = [this.ids2, this.ids];
    [this.hi, this.hi2] = [this.hi2, this.hi];
    [this.lo, this.lo2] = [this.lo2, this.lo];
    this.swapped = !this.swapped;
  }

  /** After a sort of [from, to): the primary arrays hold the result there (the others keep the rest). */
  settle(from: number, to: number): void {
    if (!this.swapped) return;
    this.swap();
    this.ids.set(this.ids2.subarray(from, to), from);
    this.hi.set(this.hi2.subarray(from, to), from);
    this.lo.set(this.lo2.subarray(from, to), from);
  }
}

/**
 * Sorts `ids` (in file order) in place into view order. A generator: it yields between slices of
 * work so a caller can spread a big sort over turns of the event loop.
 */
export function* sortIds(ids: Uint32Array, cols: KeyColumn[], desc: boolean[]): Generator<void, void, void> {
  if (ids.length < 2) return;
  const work = new Work(ids.length);
  for (let k = cols.length - 1; k >= 0; k--) yield* sortByColumn(ids, cols[k], desc[k], work);
}

/** sortIds run to the end at once. */
export function sortIdsNow(ids: Uint32Array, cols: KeyColumn[], desc: boolean[]): void {
  const run = sortIds(ids, cols, desc);
  while (!run.next().done);
}

function* sortByColumn(ids: Uint32Array, col: KeyColumn, desc: boolean, work: Work): Generator<void, void, void> {
  const n = ids.length;
  // Stable partition by class: numbers, texts, empties (texts first when descending).
  const cls = col.cls;
  let numbers = 0;
  let texts = 0;
  for (let i = 0; i < n; i++) {
    const c = cls[ids[i]];
    if (c === NUMBER) numbers++;
    else if (c === TEXT) texts++;
  }
  const numberAt = desc ? texts : 0;
  const textAt = desc ? 0 : numbers;
  let pn = numberAt;
  let pt = textAt;
  let pe = numbers + texts;
  const out = work.ids2;
  for (let i = 0; i < n; i++) {
    const id = ids[i];
    const c = cls[id];
    if (c === NUMBER) out[pn++] = id;
    else if (c === TEXT) out[pt++] = id;
    else out[pe++] = id;
  }
  ids.set(out.subarray(0, n));
  yield;
  if (numbers > 1) yield* sortNumbers(ids, numberAt, numberAt + numbers, col, desc, work);
  if (texts > 1) yield* sortTexts(ids, textAt, textAt + texts, col, desc, work);
}

function* sortNumbers(ids: Uint32Array, from: number, to: number, col: KeyColumn, desc: boolean, work: Work): Generator<void, void, void> {
  const num = col.num;
  const { hi, lo } = work;
  for (let i = from; i < to; i++) {
    const id = ids[i];
    work.ids[i] = id;
    f64[0] = num[id];
    let h = u32[HI];
    let l = u32[LO];
    // IEEE bits made to sort as unsigned integers: negative numbers flipped whole, others by sign.
    if (h & 0x80000000) {
      h = ~h >>> 0;
      l = ~l >>> 0;
    } else {
      h = (h | 0x80000000) >>> 0;
    }
    if (desc) {
      h = ~h >>> 0;
      l = ~l >>> 0;
    }
    hi[i] = h;
    lo[i] = l;
  }
  if (to - from >= SLICE) yield* radixSteps(work, from, to);
  else radixNow(work, from, to);
  ids.set(work.ids.subarray(from, to), from);
}

function* sortTexts(ids: Uint32Array, from: number, to: number, col: KeyColumn, desc: boolean, work: Work): Generator<void, void, void> {
  work.ids.set(ids.subarray(from, to), from);
  // Groups still to order: [from, to) whose texts agree on their first `depth` code units.
  const stack: number[] = [from, to, 0];
  let done = 0;
  while (stack.length > 0) {
    const depth0 = stack.pop()!;
    const end = stack.pop()!;
    const start = stack.pop()!;
    const n = end - start;
    if (n <= SMALL) {
      insertionSortTexts(work.ids, start, end, col, desc, depth0);
    } else {
      const depth = depth0 + sharedPrefix(work.ids, start, end, col, depth0);
      chunkKeys(work, start, end, col, depth, desc);
      if (n >= SLICE) yield* radixSteps(work, start, end);
      else radixNow(work, start, end);
      // Groups with the same chunk continue three code units further, unless their texts ended.
      const whi = work.hi;
      const wlo = work.lo;
      let runStart = start;
      for (let i = start + 1; i <= end; i++) {
        if (i === end || whi[i] !== whi[runStart] || wlo[i] !== wlo[runStart]) {
          if (i - runStart > 1 && (wlo[runStart] & 3) === (desc ? 0 : 3)) stack.push(runStart, i, depth + 3);
          runStart = i;
        }
      }
    }
    done += n;
    if (done >= SLICE) {
      done = 0;
      yield;
    }
  }
  ids.set(work.ids.subarray(from, to), from);
}

/** Code units (from `depth`) that all texts of the group share. */
function sharedPrefix(ids: Uint32Array, from: number, to: number, col: KeyColumn, depth: number): number {
  const { pool, off } = col;
  const first = ids[from];
  const base = off[first] + depth;
  let shared = pool[off[first] - 1] - depth;
  for (let i = from + 1; i < to && shared > 0; i++) {
    const id = ids[i];
    const o = off[id] + depth;
    const m = Math.min(shared, pool[off[id] - 1] - depth);
    let k = 0;
    while (k < m && pool[base + k] === pool[o + k]) k++;
    shared = k;
  }
  return shared > 0 ? shared : 0;
}

/**
 * The radix key of each text at `depth`: its next three code units (0 past the end) and how many
 * of them it has (0 to 3, in the low bits), so a text that ends sorts before any that goes on.
 */
function chunkKeys(work: Work, from: number, to: number, col: KeyColumn, depth: number, desc: boolean): void {
  const { pool, off } = col;
  const { ids, hi, lo } = work;
  const flip = desc ? 0xffffffff : 0;
  for (let i = from; i < to; i++) {
    const o = off[ids[i]];
    const rest = pool[o - 1] - depth;
    const p = o + depth;
    const a = rest > 0 ? pool[p] : 0;
    const b = rest > 1 ? pool[p + 1] : 0;
    const c = rest > 2 ? pool[p + 2] : 0;
    hi[i] = (((a << 16) | b) ^ flip) >>> 0;
    lo[i] = (((c << 2) | (rest > 3 ? 3 : rest)) ^ flip) >>> 0;
  }
}

function insertionSortTexts(ids: Uint32Array, from: number, to: number, col: KeyColumn, desc: boolean, depth: number): void {
  for (let i = from + 1; i < to; i++) {
    const id = ids[i];
    let j = i - 1;
    while (j >= from) {
      const r = compareText(col, ids[j], id, depth);
      if ((desc ? -r : r) <= 0) break;
      ids[j + 1] = ids[j];
      j--;
    }
    ids[j + 1] = id;
  }
}

/**
 * Stable LSD radix sort of work positions [from, to) by the unsigned 64-bit key hi:lo: one pass a
 * digit that not every row shares (the plan), 16-bit digits for big groups, 8-bit below.
 */
function radixPlan(work: Work, from: number, to: number): number[] {
  const n = to - from;
  const bits = n >= WIDE ? 16 : 8;
  const buckets = 1 << bits;
  const mask = buckets - 1;
  const perWord = 32 / bits;
  const counts = work.counts(bits);
  counts.fill(0);
  const hi = work.hi;
  const lo = work.lo;
  if (bits === 16) {
    for (let i = from; i < to; i++) {
      const l = lo[i];
      const h = hi[i];
      counts[l & mask]++;
      counts[buckets + (l >>> 16)]++;
      counts[2 * buckets + (h & mask)]++;
      counts[3 * buckets + (h >>> 16)]++;
    }
  } else {
    for (let i = from; i < to; i++) {
      const l = lo[i];
      const h = hi[i];
      counts[l & 255]++;
      counts[256 + ((l >>> 8) & 255)]++;
      counts[512 + ((l >>> 16) & 255)]++;
      counts[768 + (l >>> 24)]++;
      counts[1024 + (h & 255)]++;
      counts[1280 + ((h >>> 8) & 255)]++;
      counts[1536 + ((h >>> 16) & 255)]++;
      counts[1792 + (h >>> 24)]++;
    }
  }
  const plan: number[] = [];
  for (let d = 0; d < perWord * 2; d++) {
    const at = d * buckets;
    let b = 0;
    while (counts[at + b] === 0) b++;
    if (counts[at + b] !== n) plan.push(d);
  }
  return plan;
}

function radixPass(work: Work, from: number, to: number, d: number): void {
  const n = to - from;
  const bits = n >= WIDE ? 16 : 8;
  const buckets = 1 << bits;
  const mask = buckets - 1;
  const perWord = 32 / bits;
  const counts = work.counts(bits);
  const starts = work.starts;
  let sum = from;
  const at = d * buckets;
  for (let b = 0; b < buckets; b++) {
    starts[b] = sum;
    sum += counts[at + b];
  }
  const word = d < perWord ? work.lo : work.hi;
  const shift = (d % perWord) * bits;
  const { ids, hi, lo, ids2, hi2, lo2 } = work;
  for (let i = from; i < to; i++) {
    const p = starts[(word[i] >>> shift) & mask]++;
    ids2[p] = ids[i];
    hi2[p] = hi[i];
    lo2[p] = lo[i];
  }
  work.swap();
}

function radixNow(work: Work, from: number, to: number): void {
  const plan = radixPlan(work, from, to);
  for (const d of plan) radixPass(work, from, to, d);
  work.settle(from, to);
}

function* radixSteps(work: Work, from: number, to: number): Generator<void, void, void> {
  for (const d of radixPlan(work, from, to)) {
    radixPass(work, from, to, d);
    yield;
  }
  work.settle(from, to);
}

/**
 * The first `n` of the rows in view order: `ids`, or every row below `rows` when null (a bounded
 * heap: most rows cost one comparison).
 */
export function topIds(ids: Uint32Array | null, rows: number, n: number, cols: KeyColumn[], desc: boolean[]): Uint32Array {
  const count = ids ? ids.length : rows;
  const size = Math.min(n, count);
  const heap = new Uint32Array(size);
  let filled = 0;
  // A max-heap: the root is the last of the best rows so far.
  const later = (a: number, b: number) => compareRows(cols, desc, a, b) > 0;
  for (let i = 0; i < count; i++) {
    const id = ids ? ids[i] : i;
    if (filled < size) {
      let at = filled++;
      while (at > 0) {
        const parent = (at - 1) >> 1;
        if (!later(id, heap[parent])) break;
        heap[at] = heap[parent];
        at = parent;
      }
      heap[at] = id;
    } else if (size > 0 && later(heap[0], id)) {
      let at = 0;
      for (;;) {
        const l = 2 * at + 1;
        if (l >= size) break;
        const r = l + 1;
        const child = r < size && later(heap[r], heap[l]) ? r : l;
        if (!later(heap[child], id)) break;
        heap[at] = heap[child];
        at = child;
      }
      heap[at] = id;
    }
  }
  return heap.sort((a, b) => compareRows(cols, desc, a, b));
}

/** Merges two runs in view order into one (new rows of a growing file into the sorted view). */
export function mergeIds(a: Uint32Array, b: Uint32Array, cols: KeyColumn[], desc: boolean[]): Uint32Array {
  const out = new Uint32Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let o = 0;
  while (i < a.length && j < b.length) out[o++] = compareRows(cols, desc, a[i], b[j]) <= 0 ? a[i++] : b[j++];
  while (i < a.length) out[o++] = a[i++];
  while (j < b.length) out[o++] = b[j++];
  return out;
}
