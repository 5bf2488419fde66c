// The grid's row index over an output file (.jsonl, .json array, .csv). Records stay on disk: the
// index keeps only each record's byte range (16 bytes a record). A window of the file answers from
// what is indexed so far; the rest is indexed in the background, in short steps that leave the
// event loop to other requests and to exports running in the same process. Sorting, filtering and
// search run here, next to the data (view.ts), and are cached: the sort columns' keys (typed
// arrays, one key a record) and the current view's rows and order, both extended rather than
// rebuilt when new pages arrive.
import { closeSync, createWriteStream, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { once } from 'node:events';
import { createFormatWriter, CsvTableWriter, parseCsv } from '../export';
import { createScanner, formatOfPath, type RowFormat, type Scanner } from './scanners';
import { KeyColumn } from './keys';
import { RecordCursor } from './readers';
import { columnValue, defaultColumns, guessResource, recordColumns, toCell, type Cell } from './values';
import { View, type SortSpec, type ViewSpec } from './view';
import { ExportError } from '../errors';
import type { ResourceName } from '../zendesk';

export type { Cell, RowFormat, SortSpec, ViewSpec };

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
  /**
   * False while the answer is still growing or settling: the file is being indexed (fileRows and
   * an unsorted total will grow), a filtered view is still being scanned, or a sorted view shows
   * its first rows before its full order is done.
   */
  complete: boolean;
}

export interface ColumnsInfo {
  columns: string[];
  defaults: string[];
  resource: ResourceName | null;
}

export type ExportFormat = 'csv' | 'jsonl' | 'json';

export interface RowIndexOptions {
  format?: RowFormat;
  /** Index the rest of the file and finish view orders in the background (the default). Off, only requests, step() and settle() do work. */
  background?: boolean;
  /** How long one background step may run (ms); 0 does one unit of work a step. */
  stepMs?: number;
}

const SCAN_CHUNK = 4 << 20;
const READ_CHUNK = 4 << 20;
/** A background step runs about this long before handing the event loop back. */
const STEP_MS = 10;
/** Column key caches kept at once besides the current view's. */
const MAX_KEY_CACHES = 3;
/** Bytes before the end of what is indexed, kept to notice a file rewritten in place. */
const TAIL_BYTES = 64;

export class RowIndex {
  readonly format: RowFormat;
  private starts = new Float64Array(1024);
  private ends = new Float64Array(1024);
  private count = 0;
  private scanner: Scanner;
  private scanned = 0;
  private knownSize = -1;
  private knownIno = -1;
  /** Everything up to knownSize is indexed (the file may have grown since: requests look). */
  private atEof = false;
  /**
   * The file, read synchronously: a read is a chunk from the page cache (a millisecond or two), and
   * a thread-pool round trip per chunk costs more than that on a busy machine. Long work yields the
   * event loop between chunks instead (see pace).
   */
  private fd: number | null = null;
  private csvHeader: string[] | null = null;
  private readonly keyCaches = new Map<string, KeyColumn>();
  /** The view of the last request that had one; a request for the plain file drops it. */
  private view: View | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** One reusable read buffer for scans (dropped when the index goes idle). */
  private scratch: Buffer | null = null;
  private chunkSize = SCAN_CHUNK;
  private tail: { at: number; bytes: Buffer } | null = null;
  private readonly cursor = new RecordCursor((text) => this.parse(text));
  private readonly background: boolean;
  private readonly stepMs: number;
  private scheduled = false;
  private sliceStart = performance.now();

  private constructor(readonly path: string, format: RowFormat, opts: RowIndexOptions) {
    this.format = format;
    this.scanner = createScanner(format);
    this.background = opts.background ?? true;
    this.stepMs = opts.stepMs ?? STEP_MS;
  }

  /**
   * Opens a file and indexes its first chunk (all of it when small); the rest is indexed in the
   * background. A missing file is an empty index that fills when the file appears.
   */
  static async open(path: string, opts: RowIndexOptions = {}): Promise<RowIndex> {
    const f = opts.format ?? formatOfPath(path);
    if (!f) throw new ExportError('invalidQuery', `${path} is not a .jsonl, .json or .csv file; the grid opens those.`);
    const index = new RowIndex(path, f, opts);
    await index.serial(() => index.refreshNow(1));
    index.schedule();
    return index;
  }

  /** Records indexed so far (call refresh() to index everything the file holds now). */
  get rows(): number {
    return this.count;
  }

  /** Indexes whatever was appended since the last call; starts over if the file shrank or was replaced. */
  refresh(): Promise<number> {
    return this.serial(() => this.refreshNow(Infinity));
  }

  getRows(params: GetRowsParams): Promise<RowsResult> {
    return this.serial(async () => {
      const wanted = Math.max(0, params.start) + Math.max(0, params.count);
      const view = this.viewFor(params);
      let total: number;
      if (!view) {
        // The file itself needs only the rows of the window indexed; the rest of the count follows.
        await this.refreshNow(wanted);
        total = this.count;
      } else {
        await this.refreshNow(0);
        // A sorted view needs every row; a filter alone only enough matches for the window.
        await this.scanView(view, view.sort.length > 0 ? Infinity : wanted);
        total = view.size(this.count);
      }
      const start = Math.max(0, Math.min(params.start, total));
      const end = Math.max(start, Math.min(start + Math.max(0, params.count), total));
      if (view?.needsOrder(this.count, end)) await this.finishOrder(view);
      const ids = view ? view.window(this.count, start, end) : null;
      const wantedIds: number[] = [];
      for (let i = 0; i < end - start; i++) wantedIds.push(ids ? ids[i] : start + i);
      // Records are read only for the cells asked for.
      const records = params.columns.length > 0 ? await this.readRecords(wantedIds) : [];
      const rows = wantedIds.map((id, i) => ({ id, cells: params.columns.map((c) => toCell(columnValue(records[i], c))) }));
      const complete = this.atEof && (!view || view.complete(this.count));
      this.schedule();
      return { rows, total, fileRows: this.count, complete };
    });
  }

  /** Full records by file position (for the detail pane and copy as JSON). */
  getRecords(ids: number[]): Promise<Record<string, unknown>[]> {
    return this.serial(async () => {
      await this.refreshNow(Math.max(0, ...ids) + 1);
      this.schedule();
      return this.readRecords(ids.filter((id) => Number.isInteger(id) && id >= 0 && id < this.count));
    });
  }

  /** Flattened column names seen in a sample of records (start and end of the file), and the defaults to show. */
  columns(sample = 300): Promise<ColumnsInfo> {
    return this.serial(async () => {
      await this.refreshNow(sample);
      this.schedule();
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
  exportView(spec: ViewSpec, target: string, format: ExportFormat, columns: string[]): Promise<{ rows: number }> {
    return this.serial(async () => {
      await this.refreshNow(Infinity);
      const view = this.viewFor(spec);
      if (view) {
        await this.scanView(view, Infinity);
        await this.finishOrder(view);
      }
      const ids = view ? view.all(this.count) : null;
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

  /**
   * One step of background work (index the file, examine rows for the current view, sort it), as
   * the background runs it; true when work remains. For tests that pace the work themselves.
   */
  step(): Promise<boolean> {
    return this.serial(() => this.stepNow(this.stepMs));
  }

  /** Does all background work now: the file indexed as far as it was known, the current view complete. */
  async settle(): Promise<void> {
    await this.serial(async () => {
      while (await this.stepNow(Infinity)) await this.pace();
    });
  }

  /** Approximate bytes held by the index and its caches (for benchmarks and logs). */
  memoryEstimate(): number {
    let bytes = this.starts.byteLength + this.ends.byteLength + (this.scratch?.byteLength ?? 0);
    for (const k of this.keyCaches.values()) bytes += k.bytes();
    if (this.view) bytes += this.view.memory();
    return bytes;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.serial(async () => {
      this.closeFile();
      this.scratch = null;
    });
  }

  // -------------------------------------------------------------------------------------------

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Queues the next background step behind whatever requests arrived meanwhile. */
  private schedule(): void {
    if (!this.background || this.scheduled || this.closed) return;
    this.scheduled = true;
    setImmediate(() => {
      this.serial(() => (this.closed ? Promise.resolve(false) : this.stepNow(this.stepMs))).then(
        (more) => {
          this.scheduled = false;
          if (more) this.schedule();
        },
        // A failed step (say, the file vanished) waits for the next request, which reports it.
        () => (this.scheduled = false),
      );
    }).unref();
  }

  /** Background work for about `budgetMs` (at least one unit); true when more remains. */
  private async stepNow(budgetMs: number): Promise<boolean> {
    const deadline = performance.now() + budgetMs;
    do {
      if (this.closed || this.fd === null) return false;
      if (!this.atEof) {
        this.indexChunk();
        continue;
      }
      const view = this.view;
      if (view && view.scanFrom(this.count) < this.count) {
        await this.scanIndexed(view, view.scanFrom(this.count), this.count, () => performance.now() >= deadline);
        continue;
      }
      if (view && view.sortPending(this.count)) {
        view.sortStep(this.count);
        continue;
      }
      this.scratch = null;
      return false;
    } while (performance.now() < deadline);
    return true;
  }

  private reset(): void {
    this.count = 0;
    this.scanned = 0;
    this.scanner = createScanner(this.format);
    this.csvHeader = null;
    this.keyCaches.clear();
    this.view = null;
    this.atEof = false;
    this.tail = null;
    this.chunkSize = SCAN_CHUNK;
  }

  /** The current view for a request's spec (kept while the spec stays the same), or null for the plain file. */
  private viewFor(spec: ViewSpec): View | null {
    const key = View.keyOf(spec);
    if (key === null) {
      this.view = null;
      return null;
    }
    if (this.view?.key !== key) {
      const view = View.create(spec);
      view.keys = view.sort.map((s) => this.keysFor(s.column, view.sort));
      this.view = view;
    }
    return this.view;
  }

  private keysFor(column: string, inUse: SortSpec[]): KeyColumn {
    let cache = this.keyCaches.get(column);
    if (cache) {
      this.keyCaches.delete(column);
    } else {
      cache = new KeyColumn(column);
      for (const old of [...this.keyCaches.keys()]) {
        if (this.keyCaches.size < MAX_KEY_CACHES) break;
        if (!inUse.some((s) => s.column === old)) this.keyCaches.delete(old);
      }
    }
    this.keyCaches.set(column, cache);
    return cache;
  }

  /**
   * Notices a file replaced, truncated or rewritten (a resume truncates to the checkpoint, then
   * appends) and starts over; then indexes until at least `minRows` rows (or the end of the file).
   */
  private async refreshNow(minRows: number): Promise<number> {
    if (this.closed) throw new Error('The row index is closed.');
    let info;
    try {
      info = statSync(this.path);
    } catch {
      // Not there (yet): e.g. an export that has not written its first page, or a fresh run that deleted it.
      if (this.count > 0 || this.scanned > 0) this.reset();
      this.closeFile();
      this.knownSize = -1;
      this.atEof = true;
      return 0;
    }
    if (info.ino !== this.knownIno || info.size < this.knownSize || info.size < this.scanned || !this.tailUnchanged()) {
      this.closeFile();
      this.reset();
      this.knownIno = info.ino;
    }
    if (this.fd === null) {
      try {
        this.fd = openSync(this.path, 'r');
      } catch (err) {
        throw new ExportError('io', `Couldn't read ${this.path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}).`);
      }
      // The file opened may already be another than the one looked at: trust what is open.
      const opened = fstatSync(this.fd);
      if (opened.ino !== info.ino) {
        this.reset();
        this.knownIno = opened.ino;
      }
      info = opened;
    }
    if (info.size !== this.knownSize) {
      this.knownSize = info.size;
      this.atEof = false;
    }
    while (this.count < minRows && !this.atEof) {
      this.indexChunk();
      await this.pace();
    }
    return this.count;
  }

  private closeFile(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  /** The bytes just before the end of the indexed part are still those that were indexed. */
  private tailUnchanged(): boolean {
    if (!this.tail || this.fd === null) return true;
    const { at, bytes } = this.tail;
    const now = Buffer.alloc(bytes.length);
    return this.readInto(now, bytes.length, at - bytes.length) === bytes.length && now.equals(bytes);
  }

  /**
   * Indexes the next chunk of the file (up to its size at the last look) and hands its new rows to
   * the current view while the file is read anyway. Sets atEof when nothing more is complete.
   */
  private indexChunk(): void {
    const length = Math.min(this.chunkSize, this.knownSize - this.scanned);
    if (length <= 0 || this.fd === null) {
      this.atEof = true;
      return;
    }
    const buf = this.buffer(length);
    const bytesRead = this.readInto(buf, length, this.scanned);
    const base = this.scanned;
    const first = this.count;
    const { consumed } = this.scanner.scan(buf.subarray(0, bytesRead), base, (s, e) => this.push(s, e));
    if (this.format === 'csv' && !this.csvHeader && this.scanner.header) {
      const h = this.scanner.header;
      this.csvHeader = parseCsv(buf.toString('utf8', h.start - base, h.end - base))[0] ?? [];
    }
    if (consumed === base) {
      // A record longer than the chunk, or an unfinished one at the end: read more, or wait for the writer.
      if (base + bytesRead >= this.knownSize) this.atEof = true;
      else this.chunkSize *= 2;
      return;
    }
    this.chunkSize = SCAN_CHUNK;
    this.scanned = consumed;
    const keep = Math.min(TAIL_BYTES, consumed - base);
    this.tail = { at: consumed, bytes: Buffer.from(buf.subarray(consumed - base - keep, consumed - base)) };
    const view = this.view;
    if (view && this.count > first && view.scanFrom(first) === first) {
      view.scanRows(this.cursor, buf, base, this.starts, this.ends, first, this.count, this.format, this.csvHeader);
    }
    if (consumed >= this.knownSize) this.atEof = true;
  }

  /** Examines indexed rows [from, to) for a view, in big sequential reads, until `stop()` says so. */
  private async scanIndexed(view: View, from: number, to: number, stop: () => boolean): Promise<void> {
    let id = from;
    while (id < to) {
      const chunkStart = this.starts[id];
      let last = id;
      while (last + 1 < to && this.ends[last + 1] - chunkStart <= READ_CHUNK) last++;
      const length = this.ends[last] - chunkStart;
      const buf = this.buffer(length);
      this.readInto(buf, length, chunkStart);
      view.scanRows(this.cursor, buf, chunkStart, this.starts, this.ends, id, last + 1, this.format, this.csvHeader);
      id = last + 1;
      if (stop()) return;
      await this.pace();
    }
  }

  /** Examines rows for a view until it holds `enough` rows or has seen the whole file. */
  private async scanView(view: View, enough: number): Promise<void> {
    // Records the file holds, guessed from those indexed so far: key arrays are sized once.
    const expected = this.scanned > 0 ? Math.ceil((this.count * Math.max(this.knownSize, this.scanned)) / this.scanned) : this.count;
    for (const k of view.keys) k.expect(expected);
    for (;;) {
      const from = view.scanFrom(this.count);
      if (from < this.count) await this.scanIndexed(view, from, this.count, () => view.holds(enough));
      if (view.holds(enough) || this.atEof) return;
      this.indexChunk();
      await this.pace();
    }
  }

  /** Finishes a view's order now (a window it cannot answer otherwise, or an export), yielding between slices. */
  private async finishOrder(view: View): Promise<void> {
    while (view.sortPending(this.count)) {
      view.sortStep(this.count);
      await this.pace();
    }
  }

  /** Hands the event loop back (to other requests and exports) once the current slice of work has run STEP_MS. */
  private async pace(): Promise<void> {
    if (performance.now() - this.sliceStart < STEP_MS) return;
    await nextTurn();
    this.sliceStart = performance.now();
  }

  private buffer(length: number): Buffer {
    if (length > SCAN_CHUNK) return Buffer.allocUnsafe(length);
    return (this.scratch ??= Buffer.allocUnsafe(SCAN_CHUNK));
  }

  private push(start: number, end: number): void {
    if (this.count === this.starts.length) {
      // Sized for the records the file seems to hold (at the average length so far): one copy, not many.
      const guess = this.scanned > 0 ? Math.ceil((this.count * this.knownSize * 1.05) / this.scanned) : 0;
      const size = Math.max(this.starts.length * 2, guess);
      const grow = (a: Float64Array) => {
        const b = new Float64Array(size);
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

  private readInto(buf: Buffer, length: number, position: number): number {
    let done = 0;
    while (done < length) {
      const bytesRead = readSync(this.fd!, buf, done, length - done, position + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return done;
  }

  private readBytes(start: number, end: number): Buffer {
    const buf = Buffer.allocUnsafe(end - start);
    return buf.subarray(0, this.readInto(buf, buf.length, start));
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
      const buf = this.readBytes(from, to);
      for (let k = i; k <= j; k++) {
        const id = ids[order[k]];
        out[order[k]] = this.parse(buf.toString('utf8', this.starts[id] - from, this.ends[id] - from));
      }
      i = j + 1;
    }
    return out;
  }
}
