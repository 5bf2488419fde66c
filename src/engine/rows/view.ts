// One view of an output file (its filters, search and sort): which rows match, found by scanning
// the records once and extended as the file grows, and their order. A sorted view answers its
// first window from a top-N pass over the rows' keys; the full order is a radix sort that runs in
// slices (sortStep) and, once done, takes new rows in by merging.
import type { KeyColumn } from './keys';
import { mergeIds, sortIds, sortIdsNow, topIds } from './order';
import { ColumnFilter, columnReader, RecordSearch, type ColumnReader, type RecordCursor } from './readers';
import type { RowFormat } from './scanners';

export interface SortSpec {
  column: string;
  dir: 'asc' | 'desc';
}

/** What a view shows: every filter is "the column's text contains", search looks at the whole record. */
export interface ViewSpec {
  sort?: SortSpec[];
  filters?: Record<string, string>;
  search?: string;
}

/** Views with at least this many rows answer their first window before their full order is done. */
const TOP_N_FROM = 20_000;
/** The top-N pass serves windows ending at most this far down; further down waits for the full order. */
const TOP_N_MAX = 10_000;
/** The top-N pass keeps at least this many rows, so the first screens share one pass. */
const TOP_N_MIN = 500;

export class View {
  readonly key: string;
  readonly sort: SortSpec[];
  readonly desc: boolean[];
  /** A filter or search narrows the rows; without, every row of the file is in the view. */
  readonly filtered: boolean;
  /** The sort columns' keys (shared caches of the index: dense, one a row of the file). */
  keys: KeyColumn[] = [];
  /** Rows examined by the filters and search. */
  private upTo = 0;
  private matched = new Uint32Array(1024);
  private matchedLength = 0;
  /** The full order of the matched rows, once done (then new rows are merged in). */
  private order: Uint32Array | null = null;
  private sorting: { run: Generator<void, void, void>; ids: Uint32Array } | null = null;
  private top: Uint32Array | null = null;
  private topFor = -1;
  /** Every row of the file, for a view without filters (kept for the top-N pass and the sort that follows). */
  private identity: Uint32Array | null = null;
  private readers: ColumnReader[] = [];
  private filters: ColumnFilter[] = [];
  private search: RecordSearch | null = null;
  private prepared = false;

  private constructor(
    key: string,
    sort: SortSpec[],
    private readonly filterSpecs: (readonly [string, string])[],
    private readonly searchText: string,
  ) {
    this.key = key;
    this.sort = sort;
    // As before: anything but 'asc' sorts descending.
    this.desc = sort.map((s) => s.dir !== 'asc');
    this.filtered = filterSpecs.length > 0 || searchText !== '';
  }

  /** The key of a view spec, or null when it shows the file itself (no filter, search or sort). */
  static keyOf(spec: ViewSpec): string | null {
    const { filters, search, sort } = normalise(spec);
    if (filters.length === 0 && !search && sort.length === 0) return null;
    return JSON.stringify([filters, search, sort]);
  }

  static create(spec: ViewSpec): View {
    const { filters, search, sort } = normalise(spec);
    return new View(JSON.stringify([filters, search, sort]), sort, filters, search);
  }

  /** The first row that the view (its filters, or a sort key) has yet to examine. */
  scanFrom(rows: number): number {
    let from = this.filtered ? this.upTo : rows;
    for (const k of this.keys) if (k.length < from) from = k.length;
    return from;
  }

  /** Examines rows [from, to) of a chunk read at file offset `base`; call in file order. */
  scanRows(cur: RecordCursor, buf: Buffer, base: number, starts: Float64Array, ends: Float64Array, from: number, to: number, format: RowFormat, csvHeader: string[] | null): void {
    if (!this.prepared) this.prepare(format, csvHeader);
    const keys = this.keys;
    const readers = this.readers;
    const filters = this.filters;
    const search = this.search;
    const examine = this.filtered;
    for (let id = from; id < to; id++) {
      cur.at(buf, starts[id] - base, ends[id] - base);
      for (let k = 0; k < keys.length; k++) if (keys[k].length === id) readers[k].pushKey(cur, keys[k]);
      if (!examine || id < this.upTo) continue;
      this.upTo = id + 1;
      if (search && !search.test(cur)) continue;
      let pass = true;
      for (let f = 0; f < filters.length && pass; f++) pass = filters[f].test(cur);
      if (pass) this.pushMatch(id);
    }
  }

  /** Rows in the view among the `rows` examined (all of them without filter or search). */
  size(rows: number): number {
    return this.filtered ? this.matchedLength : rows;
  }

  /** True when a filter-only view already holds `n` rows (its first window can be answered). */
  holds(n: number): boolean {
    return this.sort.length === 0 && this.filtered && this.matchedLength >= n;
  }

  /** Work left once every row is examined: the full order. */
  sortPending(rows: number): boolean {
    return this.sort.length > 0 && (this.order === null || this.order.length < this.size(rows));
  }

  complete(rows: number): boolean {
    return this.scanFrom(rows) >= rows && !this.sortPending(rows);
  }

  /** True when the window [.., end) can't come from a top-N pass: the full order must be done first. */
  needsOrder(rows: number, end: number): boolean {
    return this.sortPending(rows) && (this.order !== null || this.size(rows) < TOP_N_FROM || end > TOP_N_MAX);
  }

  /**
   * Ids of the view's rows [start, end), all rows examined. A big sorted view without its full
   * order answers from a top-N pass; windows further down finish the order first.
   */
  window(rows: number, start: number, end: number): Uint32Array {
    if (this.sort.length === 0) return this.matched.subarray(start, end);
    const n = this.size(rows);
    if (this.order && this.order.length < n) this.mergeNew(rows);
    if (this.order) return this.order.subarray(start, end);
    if (n < TOP_N_FROM || end > TOP_N_MAX) {
      this.finish(rows);
      return this.order!.subarray(start, end);
    }
    if (!this.top || this.topFor !== n || this.top.length < Math.min(end, n)) {
      // Without filters every row is in the view: no id list needed (the sort builds one in the background).
      this.top = topIds(this.filtered ? this.ids(rows) : null, rows, Math.max(end, TOP_N_MIN), this.keys, this.desc);
      this.topFor = n;
    }
    return this.top.subarray(start, end);
  }

  /** All ids of the view in order (every row examined). */
  all(rows: number): Uint32Array {
    if (this.sort.length === 0) return this.matched.subarray(0, this.matchedLength);
    this.finish(rows);
    return this.order!;
  }

  /** One slice of the full sort (or the merge of new rows once it is done). */
  sortStep(rows: number): void {
    if (this.order) {
      this.mergeNew(rows);
      return;
    }
    if (!this.sorting) {
      // Every row is sorted in place (the identity is not needed in file order again); matches are copied, as more may follow.
      const ids = this.filtered ? this.ids(rows).slice() : this.ids(rows);
      this.identity = null;
      this.sorting = { run: sortIds(ids, this.keys, this.desc), ids };
    }
    if (this.sorting.run.next().done) {
      this.order = this.sorting.ids;
      this.sorting = null;
      this.top = null;
    }
  }

  memory(): number {
    let bytes = this.matched.byteLength + (this.order?.byteLength ?? 0) + (this.top?.byteLength ?? 0);
    // A sort in progress holds its ids and six work arrays of the same length.
    if (this.sorting) bytes += this.sorting.ids.byteLength * 7;
    return bytes;
  }

  private finish(rows: number): void {
    while (!this.order) this.sortStep(rows);
    this.mergeNew(rows);
  }

  /** Rows that matched after the order was done: sorted on their own, then merged in. */
  private mergeNew(rows: number): void {
    const n = this.size(rows);
    if (!this.order || this.order.length >= n) return;
    const from = this.order.length;
    const fresh = this.filtered ? this.matched.slice(from, n) : Uint32Array.from({ length: n - from }, (_, i) => from + i);
    sortIdsNow(fresh, this.keys, this.desc);
    this.order = mergeIds(this.order, fresh, this.keys, this.desc);
  }

  /** The view's rows (in file order unless a sort has begun on them). */
  private ids(rows: number): Uint32Array {
    if (this.filtered) return this.matched.subarray(0, this.matchedLength);
    if (this.identity?.length !== rows) {
      this.identity = new Uint32Array(rows);
      for (let i = 0; i < rows; i++) this.identity[i] = i;
    }
    return this.identity;
  }

  private pushMatch(id: number): void {
    if (this.matchedLength === this.matched.length) {
      const bigger = new Uint32Array(this.matched.length * 2);
      bigger.set(this.matched);
      this.matched = bigger;
    }
    this.matched[this.matchedLength++] = id;
  }

  private prepare(format: RowFormat, csvHeader: string[] | null): void {
    this.readers = this.sort.map((s) => columnReader(format, s.column, csvHeader));
    this.filters = this.filterSpecs.map(([c, needle]) => new ColumnFilter(columnReader(format, c, csvHeader), needle));
    this.search = this.searchText ? new RecordSearch(this.searchText) : null;
    this.prepared = true;
  }
}

function normalise(spec: ViewSpec): { filters: (readonly [string, string])[]; search: string; sort: SortSpec[] } {
  const filters = Object.entries(spec.filters ?? {})
    .filter(([, v]) => v.trim() !== '')
    .map(([c, v]) => [c, v.trim().toLowerCase()] as const);
  const search = spec.search?.trim().toLowerCase() ?? '';
  const sort = (spec.sort ?? []).filter((s) => s.column).map((s) => ({ column: s.column, dir: s.dir }));
  return { filters, search, sort };
}

