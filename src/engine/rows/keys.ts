// A sort column's keys for every row of the file, in typed arrays: a class (number, text, empty),
// the number, or the text's lower-cased prefix as UTF-16 code units in one shared pool (one byte a
// unit while every unit fits, as in most text). Sorting a million rows then reads flat arrays
// instead of calling a comparator over objects, and the keys cost the garbage collector nothing.
import { SORT_PREFIX, sortKey } from './values';

/** Numbers sort before texts, empty values last (in both directions, see compareRows). */
export const NUMBER = 0;
export const TEXT = 1;
export const EMPTY = 2;

export class KeyColumn {
  length = 0;
  cls = new Uint8Array(1024);
  num = new Float64Array(1024);
  /**
   * Where a text key's code units start in `pool`; its length (at most 2 x SORT_PREFIX) is the unit
   * just before. Length and text share a cache line: sorting reads them in random order.
   */
  off = new Uint32Array(1024);
  pool: Uint8Array | Uint16Array = new Uint8Array(1 << 16);
  poolLength = 0;

  /** Rows the file is expected to hold: arrays are sized for it at once (growing copies, and touches, every page). */
  private expected = 0;

  constructor(readonly column: string) {}

  expect(rows: number): void {
    if (rows <= this.expected) return;
    this.expected = rows;
    if (rows > this.cls.length) this.resize(rows);
  }

  /** The key of any value, exactly as values.sortKey orders it. */
  pushValue(value: unknown): void {
    const key = sortKey(value);
    if (key === null) this.pushEmpty();
    else if (typeof key === 'number') this.pushNumber(key);
    else this.pushLowered(key);
  }

  pushEmpty(): void {
    const at = this.slot();
    this.cls[at] = EMPTY;
  }

  pushNumber(n: number): void {
    const at = this.slot();
    this.cls[at] = NUMBER;
    // -0 and 0 are the same key (compareKeys says so); radix sorting looks at the bits.
    this.num[at] = n === 0 ? 0 : n;
  }

  /** A text key already cut to its prefix and lower-cased. */
  pushLowered(text: string): void {
    const at = this.slot();
    const n = text.length;
    if (this.pool.BYTES_PER_ELEMENT === 1) {
      for (let i = 0; i < n; i++) {
        if (text.charCodeAt(i) > 0xff) {
          this.pool = grow(this.pool, new Uint16Array(this.pool.length));
          break;
        }
      }
    }
    this.reserve(n + 1);
    const pool = this.pool;
    let p = this.poolLength;
    this.cls[at] = TEXT;
    pool[p++] = n;
    this.off[at] = p;
    for (let i = 0; i < n; i++) pool[p++] = text.charCodeAt(i);
    this.poolLength = p;
  }

  /** A text key from ASCII bytes (no escapes, at least one byte): lower-cased, cut to the prefix. */
  pushAscii(buf: Uint8Array, from: number, to: number): void {
    const at = this.slot();
    const n = Math.min(to - from, SORT_PREFIX);
    this.reserve(n + 1);
    const pool = this.pool;
    let p = this.poolLength;
    this.cls[at] = TEXT;
    pool[p++] = n;
    this.off[at] = p;
    for (let i = from; i < from + n; i++) {
      const c = buf[i];
      pool[p++] = c >= 65 && c <= 90 ? c + 32 : c;
    }
    this.poolLength = p;
  }

  bytes(): number {
    return this.cls.byteLength + this.num.byteLength + this.off.byteLength + this.pool.byteLength;
  }

  private slot(): number {
    const at = this.length;
    if (at === this.cls.length) this.resize(Math.max(at * 2, this.expected));
    this.length = at + 1;
    return at;
  }

  private resize(rows: number): void {
    this.cls = grow(this.cls, new Uint8Array(rows));
    this.num = grow(this.num, new Float64Array(rows));
    this.off = grow(this.off, new Uint32Array(rows));
  }

  private reserve(units: number): void {
    if (this.poolLength + units <= this.pool.length) return;
    // Sized for the rows still expected at the average key length so far, rather than doubling.
    const perRow = this.poolLength / Math.max(1, this.length);
    const rest = Math.ceil(perRow * Math.max(0, this.expected - this.length) * 1.1);
    const size = Math.max(this.poolLength + units, this.poolLength + rest, Math.ceil(this.pool.length * 1.5));
    this.pool = grow(this.pool, this.pool.BYTES_PER_ELEMENT === 1 ? new Uint8Array(size) : new Uint16Array(size));
  }
}

function grow<T extends Uint8Array | Uint16Array | Uint32Array | Float64Array>(from: Uint8Array | Uint16Array | Uint32Array | Float64Array, to: T): T {
  to.set(from);
  return to;
}

/** Compares two rows' text keys (UTF-16 code units, a prefix first), as JS `<` compares strings. */
export function compareText(col: KeyColumn, a: number, b: number, depth = 0): number {
  const pool = col.pool;
  const oa = col.off[a];
  const ob = col.off[b];
  const la = pool[oa - 1];
  const lb = pool[ob - 1];
  const n = la < lb ? la : lb;
  for (let i = depth; i < n; i++) {
    const d = pool[oa + i] - pool[ob + i];
    if (d !== 0) return d;
  }
  return la - lb;
}

/**
 * The view order of rows `a` and `b` over sort columns `cols` (desc[k] for descending): numbers
 * before texts (reversed when descending), empty values last either way, ties by file position.
 * Exactly values.compareKeys applied column by column.
 */
export function compareRows(cols: KeyColumn[], desc: boolean[], a: number, b: number): number {
  for (let k = 0; k < cols.length; k++) {
    const col = cols[k];
    const ca = col.cls[a];
    const cb = col.cls[b];
    if (ca !== cb) {
      const r = ca < cb ? -1 : 1;
      return ca === EMPTY || cb === EMPTY || !desc[k] ? r : -r;
    }
    if (ca === EMPTY) continue;
    let r: number;
    if (ca === NUMBER) {
      const x = col.num[a];
      const y = col.num[b];
      r = x < y ? -1 : x > y ? 1 : 0;
    } else {
      r = compareText(col, a, b);
    }
    if (r !== 0) return desc[k] ? -r : r;
  }
  return a - b;
}
