// The grid's row index over an output file (.jsonl, .json array, .csv). Records stay on disk: the
// index keeps only each record's byte range (16 bytes a record), scanned incrementally as the file
// grows while an export appends to it. Sorting, filtering and search run here, next to the data,
// and are cached: the sort column's keys (one value a record, strings cut to a prefix) and the
// current view's row order, both extended rather than rebuilt when new pages arrive.
import { open, stat, type FileHandle } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { createFormatWriter, CsvTableWriter, parseCsv } from '../export';
import { createScanner, formatOfPath, type RowFormat, type Scanner } from './scanners';
import { topLevelReader } from './topLevelField';
import { cellText, columnValue, compareKeys, defaultColumns, guessResource, recordColumns, sortKey, toCell, type Cell, type SortKey } from './values';
import { ExportError } from '../errors';
import type { ResourceName } from '../zendesk';

export type { Cell, RowFormat };

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

export interface GetRowsParams extends ViewSpec {
  start: number;
  count: number;
  /** Flattened column names to return, in order. */
  columns: string[];
}

export interface IndexedRow {
  /** The record's position in the file (0-based), stable across views: use it to fetch the record. */
  id: number;
  cells: Cell[];
}

export interface RowsResult {
  rows: IndexedRow[];
  /** Rows in the view (after filters and search). */
  total: number;
  /** Records in the file (indexed so far). */
  fileRows: number;
  /** False while a big file is still being indexed: fileRows (and an unsorted total) will grow. */
  complete: boolean;
}

export interface ColumnsInfo {
  columns: string[];
  defaults: string[];
  resource: ResourceName | null;
}

export type ExportFormat = 'csv' | 'jsonl' | 'json';

const SCAN_CHUNK = 4 << 20;
/** How long a window request may spend indexing before answering with the rows indexed so far. */
const WINDOW_INDEX_BUDGET_MS = 150;
const READ_CHUNK = 4 << 20;
/** Column key caches kept at once (a multi-column sort needs one per column). */
const MAX_KEY_CACHES = 3;

interface KeyCache {
  keys: SortKey[];
}

interface ViewCache {
  key: string;
  /** Rows of the file examined so far. */
  upTo: number;
  /** Matching row ids, in view order once `sorted`. */
  ids: Uint32Array;
  length: number;
}

function isPlainView(spec: ViewSpec): boolean {
  return !spec.search?.trim() && !(spec.sort ?? []).some((s) => s.column) && !Object.values(spec.filters ?? {}).some((v) => v.trim());
}

export class RowIndex {
  readonly format: RowFormat;
  private starts = new Float64Array(1024);
  private ends = new Float64Array(1024);
  private count = 0;
  private scanner: Scanner;
  private scanned = 0;
  private knownSize = -1;
  private knownIno = -1;
  /** The last scan reached the end of the file (as large as it was then). */
  private atEof = false;
  private handle: FileHandle | null = null;
  private csvHeader: string[] | null = null;
  private readonly keyCaches = new Map<string, KeyCache>();
  private view: ViewCache | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(readonly path: string, format: RowFormat, private readonly budgetMs: number) {
    this.format = format;
    this.scanner = createScanner(format);
  }

  /**
   * Opens a file and indexes its start (all of it when small); a missing file is an empty index
   * that fills when the file appears. `windowBudgetMs`: how long a window request may index before
   * answering with what is indexed so far.
   */
  static async open(path: string, opts: { format?: RowFormat; windowBudgetMs?: number } = {}): Promise<RowIndex> {
    const f = opts.format ?? formatOfPath(path);
    if (!f) throw new ExportError('invalidQuery', `${path} is not a .jsonl, .json or .csv file; the grid opens those.`);
    const index = new RowIndex(path, f, opts.windowBudgetMs ?? WINDOW_INDEX_BUDGET_MS);
    await index.serial(() => index.refreshNow(index.budgetMs, 1));
    return index;
  }

  /** Records indexed so far (call refresh() to index everything the file holds now). */
  get rows(): number {
    return this.count;
  }

  /** Indexes whatever was appended since the last call; starts over if the file shrank or was replaced. */
  refresh(): Promise<number> {
    return this.serial(() => this.refreshNow());
  }

  getRows(params: GetRowsParams): Promise<RowsResult> {
    return this.serial(async () => {
      const plain = isPlainView(params);
      // The file itself needs only the rows of the window indexed: a big file shows its first rows
      // at once and the rest of the count follows (complete: false). A view needs every row.
      await this.refreshNow(plain ? this.budgetMs : Infinity, plain ? params.start + params.count : 0);
      const ids = await this.viewIds(params);
      const total = ids ? ids.length : this.count;
      const start = Math.max(0, Math.min(params.start, total));
      const end = Math.max(start, Math.min(start + Math.max(0, params.count), total));
      const wanted: number[] = [];
      for (let i = start; i < end; i++) wanted.push(ids ? ids[i] : i);
      const records = await this.readRecords(wanted);
      const rows = wanted.map((id, i) => ({ id, cells: params.columns.map((c) => toCell(columnValue(records[i], c))) }));
      return { rows, total, fileRows: this.count, complete: this.atEof };
    });
  }

  /** Full records by file position (for the detail pane and copy as JSON). */
  getRecords(ids: number[]): Promise<Record<string, unknown>[]> {
    return this.serial(async () => {
      await this.refreshNow(this.budgetMs, Math.max(0, ...ids) + 1);
      return this.readRecords(ids.filter((id) => Number.isInteger(id) && id >= 0 && id < this.count));
    });
  }

  /** Flattened column names seen in a sample of records (start and end of the file), and the defaults to show. */
  columns(sample = 300): Promise<ColumnsInfo> {
    return this.serial(async () => {
      await this.refreshNow(this.budgetMs, sample);
      const seen = new Set<string>();
      if (this.csvHeader) for (const c of this.csvHeader) seen.add(c);
      const ids: number[] = [];
      for (let i = 0; i < Math.min(sample, this.count); i++) ids.push(i);
      for (let i = Math.max(sample, this.count - 50); i < this.count; i++) ids.push(i);
      for (const r of await this.readRecords(ids)) for (const c of recordColumns(r)) seen.add(c);
      const columns = [...seen];
      const resource = guessResource(this.path);
      return { columns, defaults: defaultColumns(resource, columns), resource };
    });
  }

  /**
   * Writes the view (its filters, search and sort) to `target`. JSON Lines / JSON carry whole records;
   * CSV carries `columns` (the visible ones), formula-safe like the project's CSV output.
   */
  exportView(view: ViewSpec, target: string, format: ExportFormat, columns: string[]): Promise<{ rows: number }> {
    return this.serial(async () => {
      await this.refreshNow();
      const ids = await this.viewIds(view);
      const total = ids ? ids.length : this.count;
      const out = createWriteStream(target, { encoding: 'utf8' });
      const failed = once(out, 'error').then(([e]) => Promise.reject(new ExportError('io', `Couldn't write ${target} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).`)));
      failed.catch(() => undefined);
      const write = async (text: string): Promise<void> => {
        if (!out.write(text)) await Promise.race([once(out, 'drain'), failed]);
      };
      // The same encoders as the export's outputs; CSV carries the view's columns, JSON whole records.
      const writer = format === 'csv' ? new CsvTableWriter(columns) : createFormatWriter(format, null, null);
      await write(writer.prologue);
      const batch = 2000;
      for (let at = 0; at < total; at += batch) {
        const wanted: number[] = [];
        for (let i = at; i < Math.min(total, at + batch); i++) wanted.push(ids ? ids[i] : i);
        const records = await this.readRecords(wanted);
        await write(writer.encode(format === 'csv' ? records.map((r) => Object.fromEntries(columns.map((c) => [c, columnValue(r, c)]))) : records));
      }
      await write(writer.epilogue);
      out.end();
      await Promise.race([once(out, 'finish'), failed]);
      return { rows: total };
    });
  }

  /** Approximate bytes held by the index and its caches (for benchmarks and logs). */
  memoryEstimate(): number {
    let bytes = this.starts.byteLength + this.ends.byteLength;
    for (const k of this.keyCaches.values()) bytes += k.keys.length * 16;
    if (this.view) bytes += this.view.ids.byteLength;
    return bytes;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.serial(async () => {
      await this.handle?.close();
      this.handle = null;
    });
  }

  // -------------------------------------------------------------------------------------------

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private reset(): void {
    this.count = 0;
    this.scanned = 0;
    this.scanner = createScanner(this.format);
    this.csvHeader = null;
    this.keyCaches.clear();
    this.view = null;
    this.atEof = false;
  }

  /**
   * Indexes what the file gained. With a budget, stops after `budgetMs` once at least `minRows`
   * rows are indexed (the rest is indexed by later calls).
   */
  private async refreshNow(budgetMs = Infinity, minRows = 0): Promise<number> {
    if (this.closed) throw new Error('The row index is closed.');
    let info;
    try {
      info = await stat(this.path);
    } catch {
      // Not there (yet): e.g. an export that has not written its first page, or a fresh run that deleted it.
      if (this.count > 0 || this.scanned > 0) this.reset();
      await this.handle?.close();
      this.handle = null;
      this.knownSize = -1;
      this.atEof = true;
      return 0;
    }
    if (info.ino !== this.knownIno || info.size < this.knownSize || info.size < this.scanned) {
      // Replaced or truncated (a resume truncates to the checkpoint): index again from the start.
      await this.handle?.close();
      this.handle = null;
      this.reset();
      this.knownIno = info.ino;
    }
    if (!this.handle) {
      try {
        this.handle = await open(this.path, 'r');
      } catch (err) {
        throw new ExportError('io', `Couldn't read ${this.path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}).`);
      }
    }
    if (info.size === this.knownSize && this.atEof) return this.count;
    this.knownSize = info.size;
    this.atEof = false;
    const deadline = performance.now() + budgetMs;
    let chunk = SCAN_CHUNK;
    while (this.scanned < info.size) {
      const length = Math.min(chunk, info.size - this.scanned);
      const buf = Buffer.allocUnsafe(length);
      const { bytesRead } = await this.handle.read(buf, 0, length, this.scanned);
      const before = this.scanned;
      const { consumed } = this.scanner.scan(buf.subarray(0, bytesRead), this.scanned, (s, e) => this.push(s, e));
      this.scanned = consumed;
      if (this.format === 'csv' && !this.csvHeader && this.scanner.header) {
        const h = this.scanner.header;
        this.csvHeader = parseCsv((await this.readBytes(h.start, h.end)).toString('utf8'))[0] ?? [];
      }
      if (consumed === before) {
        // A record longer than the chunk, or an unfinished one at the end: read more, or wait for the writer.
        if (before + bytesRead >= info.size) break;
        chunk *= 2;
      } else if (this.count >= minRows && performance.now() > deadline) {
        return this.count;
      }
    }
    this.atEof = true;
    return this.count;
  }

  private push(start: number, end: number): void {
    if (this.count === this.starts.length) {
      const grow = (a: Float64Array) => {
        const b = new Float64Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.starts = grow(this.starts);
      this.ends = grow(this.ends);
    }
    this.starts[this.count] = start;
    this.ends[this.count] = end;
    this.count++;
  }

  private async readBytes(start: number, end: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(end - start);
    let done = 0;
    while (done < buf.length) {
      const { bytesRead } = await this.handle!.read(buf, done, buf.length - done, start + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return buf.subarray(0, done);
  }

  private parse(text: string): Record<string, unknown> {
    if (this.format === 'csv') {
      const cells = parseCsv(text)[0] ?? [];
      const rec: Record<string, unknown> = {};
      (this.csvHeader ?? []).forEach((c, i) => (rec[c] = cells[i] ?? ''));
      return rec;
    }
    try {
      const v: unknown = JSON.parse(text);
      return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : { value: v };
    } catch {
      // A damaged line still gets a row, showing what is there.
      return { _unparsed: text.slice(0, 2000) };
    }
  }

  /** Records by id, in the given order; neighbouring records are read together. */
  private async readRecords(ids: number[]): Promise<Record<string, unknown>[]> {
    const out = new Array<Record<string, unknown>>(ids.length);
    const order = ids.map((_, i) => i).sort((a, b) => ids[a] - ids[b]);
    let i = 0;
    while (i < order.length) {
      // Group ids whose byte ranges are close, up to READ_CHUNK, into one read.
      let j = i;
      const from = this.starts[ids[order[i]]];
      while (j + 1 < order.length && this.ends[ids[order[j + 1]]] - from <= READ_CHUNK && this.starts[ids[order[j + 1]]] - this.ends[ids[order[j]]] < 64 * 1024) j++;
      const to = Math.max(this.ends[ids[order[j]]], this.ends[ids[order[i]]]);
      const buf = await this.readBytes(from, to);
      for (let k = i; k <= j; k++) {
        const id = ids[order[k]];
        out[order[k]] = this.parse(buf.toString('utf8', this.starts[id] - from, this.ends[id] - from));
      }
      i = j + 1;
    }
    return out;
  }

  /** Calls `each(id, record)` for rows [from, to) in file order, reading big sequential chunks. */
  private async forEachRecord(from: number, to: number, each: (id: number, text: string) => void): Promise<void> {
    let id = from;
    while (id < to) {
      const chunkStart = this.starts[id];
      let last = id;
      while (last + 1 < to && this.ends[last + 1] - chunkStart <= READ_CHUNK) last++;
      const buf = await this.readBytes(chunkStart, this.ends[last]);
      for (; id <= last; id++) each(id, buf.toString('utf8', this.starts[id] - chunkStart, this.ends[id] - chunkStart));
    }
  }

  private keysFor(column: string): KeyCache {
    let cache = this.keyCaches.get(column);
    if (!cache) {
      cache = { keys: [] };
      if (this.keyCaches.size >= MAX_KEY_CACHES) this.keyCaches.delete(this.keyCaches.keys().next().value!);
    } else {
      this.keyCaches.delete(column);
    }
    this.keyCaches.set(column, cache);
    return cache;
  }

  /** Row ids of the view in order, or null when the view is the file itself (no filter, search or sort). */
  private async viewIds(spec: ViewSpec): Promise<Uint32Array | null> {
    const filters = Object.entries(spec.filters ?? {}).filter(([, v]) => v.trim() !== '').map(([c, v]) => [c, v.trim().toLowerCase()] as const);
    const search = spec.search?.trim().toLowerCase() ?? '';
    const sort = (spec.sort ?? []).filter((s) => s.column);
    if (filters.length === 0 && !search && sort.length === 0) return null;

    const key = JSON.stringify([filters, search, sort]);
    let view = this.view && this.view.key === key ? this.view : null;
    if (!view) view = { key, upTo: 0, ids: new Uint32Array(1024), length: 0 };
    this.view = view;
    if (view.upTo === this.count) return view.ids.subarray(0, view.length);

    const from = view.upTo;
    const caches = sort.map((s) => this.keysFor(s.column));
    const fresh: number[] = [];
    const scanFrom = Math.min(from, ...caches.map((c) => c.keys.length));
    // Top-level fields of JSON records are read without parsing the record (see topLevelField).
    const readerOf = (column: string) => (this.format !== 'csv' && !column.includes('.') ? topLevelReader(column) : null);
    const sortReaders = sort.map((s) => readerOf(s.column));
    const filterReaders = filters.map(([c]) => readerOf(c));
    await this.forEachRecord(scanFrom, this.count, (id, text) => {
      const inView = id >= from;
      const matchesSearch = !search || !inView || text.toLowerCase().includes(search);
      // Rows outside the search still need their sort keys if a key cache is behind.
      if (!matchesSearch && !caches.some((c) => c.keys.length <= id)) return;
      let record: Record<string, unknown> | undefined;
      for (let k = 0; k < caches.length; k++) {
        if (caches[k].keys.length !== id) continue;
        const fast = sortReaders[k]?.(text);
        let value: unknown;
        if (fast) value = fast.value;
        else value = columnValue((record ??= this.parse(text)), sort[k].column);
        caches[k].keys.push(sortKey(value));
      }
      if (!inView || !matchesSearch) return;
      for (let k = 0; k < filters.length; k++) {
        const fast = filterReaders[k]?.(text);
        const value = fast ? fast.value : columnValue((record ??= this.parse(text)), filters[k][0]);
        if (!cellText(value).includes(filters[k][1])) return;
      }
      fresh.push(id);
    });

    if (sort.length > 0) {
      const cmp = (a: number, b: number): number => {
        for (let k = 0; k < sort.length; k++) {
          const r = compareKeys(caches[k].keys[a], caches[k].keys[b]);
          if (r !== 0) {
            // Empty values stay last whichever the direction.
            const emptyA = caches[k].keys[a] === null;
            const emptyB = caches[k].keys[b] === null;
            return emptyA || emptyB || sort[k].dir === 'asc' ? r : -r;
          }
        }
        return a - b;
      };
      fresh.sort(cmp);
      // Merge the already sorted part with the new rows: a live export costs O(view), not a re-sort.
      const merged = new Uint32Array(Math.max(1024, view.length + fresh.length));
      let a = 0;
      let b = 0;
      let o = 0;
      while (a < view.length && b < fresh.length) merged[o++] = cmp(view.ids[a], fresh[b]) <= 0 ? view.ids[a++] : fresh[b++];
      while (a < view.length) merged[o++] = view.ids[a++];
      while (b < fresh.length) merged[o++] = fresh[b++];
      view.ids = merged;
      view.length = o;
    } else {
      if (view.length + fresh.length > view.ids.length) {
        const bigger = new Uint32Array(Math.max(view.ids.length * 2, view.length + fresh.length));
        bigger.set(view.ids.subarray(0, view.length));
        view.ids = bigger;
      }
      view.ids.set(fresh, view.length);
      view.length += fresh.length;
    }
    view.upTo = this.count;
    return view.ids.subarray(0, view.length);
  }
}
