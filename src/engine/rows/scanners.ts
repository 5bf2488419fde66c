// Finds record boundaries in the bytes of an output file, chunk by chunk, without parsing records.
// Each scanner stops at the end of the last *complete* record, so a file that is still being
// written (a page half flushed, a JSON array whose closing bracket the next page overwrites) is
// scanned again from there when it grows. Multi-byte UTF-8 never contains ASCII bytes, so looking
// at single bytes is safe.
import { ExportError } from '../errors';
export type RowFormat = 'jsonl' | 'json' | 'csv';

export interface ScanResult {
  /** Byte offset (absolute) up to which everything is final; the next scan starts here. */
  consumed: number;
}

/** Calls `emit(start, end)` (absolute byte offsets, end exclusive) for each complete record in `buf`. */
export interface Scanner {
  scan(buf: Buffer, base: number, emit: (start: number, end: number) => void): ScanResult;
  /** True once the CSV header has been read (always true for the JSON formats). */
  readonly headerDone: boolean;
  /** The CSV header's byte range, once read. */
  header?: { start: number; end: number };
}

const NL = 10;
const CR = 13;
const QUOTE = 34;
const BACKSLASH = 92;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;

function isBlank(buf: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = buf[i];
    if (c !== 32 && c !== 9 && c !== CR && c !== NL) return false;
  }
  return true;
}

/** One JSON document per line; blank lines are skipped, an unterminated last line waits for its newline. */
export class JsonlScanner implements Scanner {
  readonly headerDone = true;
  scan(buf: Buffer, base: number, emit: (start: number, end: number) => void): ScanResult {
    let lineStart = 0;
    for (;;) {
      const nl = buf.indexOf(NL, lineStart);
      if (nl < 0) break;
      let end = nl;
      if (end > lineStart && buf[end - 1] === CR) end--;
      if (!isBlank(buf, lineStart, end)) emit(base + lineStart, base + end);
      lineStart = nl + 1;
    }
    return { consumed: base + lineStart };
  }
}

/** The objects of a top-level JSON array (the project's `json` output): `[{…},\n{…}\n]`. */
export class JsonArrayScanner implements Scanner {
  readonly headerDone = true;
  private depth = 0;
  private started = false;

  scan(buf: Buffer, base: number, emit: (start: number, end: number) => void): ScanResult {
    let consumed = 0;
    let inString = false;
    let escaped = false;
    let depth = this.depth;
    let recordStart = -1;
    for (let i = 0; i < buf.length; i++) {
      const c = buf[i];
      if (inString) {
        if (escaped) escaped = false;
        else if (c === BACKSLASH) escaped = true;
        else if (c === QUOTE) inString = false;
        continue;
      }
      if (c === QUOTE) {
        inString = true;
      } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        if (depth === 0) {
          if (c !== OPEN_BRACKET) throw new ExportError('io', 'The file is not a JSON array of records; the grid opens JSON Lines, JSON arrays of records and CSV.');
          this.started = true;
          consumed = i + 1;
        } else if (depth === 1 && c === OPEN_BRACE) {
          recordStart = i;
        }
        depth++;
      } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        depth--;
        if (depth === 1 && c === CLOSE_BRACE && recordStart >= 0) {
          emit(base + recordStart, base + i + 1);
          recordStart = -1;
          consumed = i + 1;
        } else if (depth === 0) {
          // The closing bracket: whatever follows may be overwritten by the next page.
          depth = 1;
          break;
        }
      } else if (depth === 0 && !(c === 32 || c === 9 || c === CR || c === NL || c === 0xef || c === 0xbb || c === 0xbf)) {
        throw new ExportError('io', 'The file is not a JSON array of records; the grid opens JSON Lines, JSON arrays of records and CSV.');
      }
    }
    // Records end at depth 1 outside strings, so the state to resume from is just "inside the array".
    this.depth = this.started ? 1 : 0;
    return { consumed: base + consumed };
  }
}

/** RFC 4180 records (newlines inside quotes belong to the cell); the first record is the header. */
export class CsvScanner implements Scanner {
  header?: { start: number; end: number };
  get headerDone(): boolean {
    return this.header !== undefined;
  }

  scan(buf: Buffer, base: number, emit: (start: number, end: number) => void): ScanResult {
    let inQuotes = false;
    let recordStart = 0;
    let consumed = 0;
    for (let i = 0; i < buf.length; i++) {
      const c = buf[i];
      if (c === QUOTE) inQuotes = !inQuotes;
      else if (c === NL && !inQuotes) {
        let end = i;
        if (end > recordStart && buf[end - 1] === CR) end--;
        if (!isBlank(buf, recordStart, end)) {
          if (!this.header) this.header = { start: base + recordStart, end: base + end };
          else emit(base + recordStart, base + end);
        }
        recordStart = i + 1;
        consumed = i + 1;
      }
    }
    return { consumed: base + consumed };
  }
}

export function createScanner(format: RowFormat): Scanner {
  switch (format) {
    case 'jsonl':
      return new JsonlScanner();
    case 'json':
      return new JsonArrayScanner();
    case 'csv':
      return new CsvScanner();
  }
}

export function formatOfPath(path: string): RowFormat | null {
  const m = /\.(jsonl|ndjson|json|csv)$/i.exec(path);
  if (!m) return null;
  const ext = m[1].toLowerCase();
  return ext === 'ndjson' ? 'jsonl' : (ext as RowFormat);
}
