// How a view reads a record while scanning the file: one column's value or sort key, and whether
// the whole record contains a search text, straight from the record's bytes where that is exact
// (top-level JSON fields, CSV cells by header position, ASCII search text), otherwise from the
// parsed record. Either way the answer is the one columnValue / cellText / sortKey give on the
// parsed record.
import type { KeyColumn } from './keys';
import type { RowFormat } from './scanners';
import { DAMAGED, decodeValue, fieldKey, fieldValueAt, NOT_AN_OBJECT, NOT_FOUND, type FieldKey } from './topLevelField';
import { cellText, columnValue } from './values';

type Rec = Record<string, unknown>;

/** One record of a chunk being scanned: its bytes, and (lazily) its text and parsed form. */
export class RecordCursor {
  buf: Buffer = Buffer.alloc(0);
  start = 0;
  end = 0;
  private textCache: string | null = null;
  private recordCache: Rec | null = null;

  constructor(private readonly parse: (text: string) => Rec) {}

  at(buf: Buffer, start: number, end: number): void {
    this.buf = buf;
    this.start = start;
    this.end = end;
    this.textCache = null;
    this.recordCache = null;
  }

  text(): string {
    return (this.textCache ??= this.buf.toString('utf8', this.start, this.end));
  }

  record(): Rec {
    return (this.recordCache ??= this.parse(this.text()));
  }
}

export interface ColumnReader {
  /** The column's value, as columnValue gives it on the parsed record. */
  value(cur: RecordCursor): unknown;
  /** Appends the column's sort key for the record to `keys`. */
  pushKey(cur: RecordCursor, keys: KeyColumn): void;
}

/** Any column of any record: parse it. */
class ParsedReader implements ColumnReader {
  constructor(private readonly column: string) {}
  value(cur: RecordCursor): unknown {
    return columnValue(cur.record(), this.column);
  }
  pushKey(cur: RecordCursor, keys: KeyColumn): void {
    keys.pushValue(this.value(cur));
  }
}

const QUOTE = 34;
const BACKSLASH = 92;
const MINUS = 45;
/** Enough UTF-8 bytes for SORT_PREFIX code units (at most 3 bytes a code unit, plus a cut character). */
const PREFIX_BYTES = 324;

/** A top-level field of JSON records (the project's outputs are compact JSON, one object a record). */
class JsonFieldReader implements ColumnReader {
  private readonly key: FieldKey;
  private readonly parsed: ParsedReader;
  constructor(column: string) {
    this.key = fieldKey(column);
    this.parsed = new ParsedReader(column);
  }

  value(cur: RecordCursor): unknown {
    const v = fieldValueAt(cur.buf, cur.start, cur.end, this.key);
    if (v === NOT_FOUND) return undefined;
    if (v === NOT_AN_OBJECT) return this.parsed.value(cur);
    const value = decodeValue(cur.buf, v, cur.end);
    return value === DAMAGED ? this.parsed.value(cur) : value;
  }

  pushKey(cur: RecordCursor, keys: KeyColumn): void {
    const buf = cur.buf;
    const v = fieldValueAt(buf, cur.start, cur.end, this.key);
    if (v === NOT_FOUND) return keys.pushEmpty();
    if (v === NOT_AN_OBJECT) return this.parsed.pushKey(cur, keys);
    const c = buf[v];
    if (c === QUOTE) {
      // A text: its lower-cased prefix goes straight from the bytes to the keys when it is plain ASCII.
      let ascii = true;
      let q = v + 1;
      for (; q < cur.end; q++) {
        const d = buf[q];
        if (d === QUOTE) break;
        if (d === BACKSLASH || d >= 0x80) {
          ascii = false;
          if (d === BACKSLASH) break;
        }
      }
      if (q === v + 1) return keys.pushEmpty();
      // Escapes, and texts that are numbers ("-1", "42", sorted as numbers): the general path decides.
      if (q >= cur.end || buf[q] !== QUOTE || isPlainNumber(buf, v + 1, q)) return keys.pushValue(this.value(cur));
      if (ascii) return keys.pushAscii(buf, v + 1, q);
      const text = buf.toString('utf8', v + 1, Math.min(q, v + 1 + PREFIX_BYTES));
      return keys.pushValue(text);
    }
    if (c === MINUS || (c >= 48 && c <= 57)) {
      const n = plainInteger(buf, v, cur.end);
      if (n !== null) return keys.pushNumber(n);
    }
    keys.pushValue(this.value(cur));
  }
}

/** The bytes match values.PLAIN_NUMBER (-?\d+(\.\d+)?([eE][-+]?\d+)?). */
function isPlainNumber(buf: Uint8Array, from: number, to: number): boolean {
  let i = from;
  if (buf[i] === MINUS) i++;
  let at = i;
  while (i < to && isDigit(buf[i])) i++;
  if (i === at) return false;
  if (i < to && buf[i] === 46) {
    at = ++i;
    while (i < to && isDigit(buf[i])) i++;
    if (i === at) return false;
  }
  if (i < to && (buf[i] === 101 || buf[i] === 69)) {
    i++;
    if (i < to && (buf[i] === 43 || buf[i] === MINUS)) i++;
    at = i;
    while (i < to && isDigit(buf[i])) i++;
    if (i === at) return false;
  }
  return i === to;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** A JSON integer of at most 15 digits (exact in a double) at `v`, or null for anything else. */
function plainInteger(buf: Uint8Array, v: number, end: number): number | null {
  let i = v;
  const negative = buf[i] === MINUS;
  if (negative) i++;
  const from = i;
  let n = 0;
  while (i < end) {
    const d = buf[i];
    if (d < 48 || d > 57) break;
    n = n * 10 + (d - 48);
    i++;
  }
  const digits = i - from;
  if (digits === 0 || digits > 15 || (digits > 1 && buf[from] === 48)) return null;
  const next = i < end ? buf[i] : 44;
  // Followed by a fraction or exponent: not a plain integer.
  if (next === 46 || next === 101 || next === 69) return null;
  return negative ? -n : n;
}

/** A dotted column of JSON records ('via.channel', 'custom_fields.360001'): parse only the top-level field it starts in. */
class JsonPathReader implements ColumnReader {
  private readonly literal: FieldKey;
  private readonly head: FieldKey;
  private readonly parsed: ParsedReader;
  constructor(private readonly column: string) {
    this.literal = fieldKey(column);
    this.head = fieldKey(column.slice(0, column.indexOf('.')));
    this.parsed = new ParsedReader(column);
  }

  value(cur: RecordCursor): unknown {
    // A literal key with the dots wins, as in columnValue.
    const lit = fieldValueAt(cur.buf, cur.start, cur.end, this.literal);
    if (lit === NOT_AN_OBJECT) return this.parsed.value(cur);
    if (lit >= 0) {
      const value = decodeValue(cur.buf, lit, cur.end);
      return value === DAMAGED ? this.parsed.value(cur) : value;
    }
    const v = fieldValueAt(cur.buf, cur.start, cur.end, this.head);
    if (v === NOT_FOUND) return columnValue({}, this.column);
    const sub = decodeValue(cur.buf, v, cur.end);
    if (sub === DAMAGED) return this.parsed.value(cur);
    return columnValue({ [this.head.name]: sub }, this.column);
  }

  pushKey(cur: RecordCursor, keys: KeyColumn): void {
    keys.pushValue(this.value(cur));
  }
}

/** A column of a CSV file that its header names: the cell at that position (the last one, if named twice). */
class CsvCellReader implements ColumnReader {
  constructor(private readonly at: number) {}
  value(cur: RecordCursor): unknown {
    return csvCellAt(cur.buf, cur.start, cur.end, this.at);
  }
  pushKey(cur: RecordCursor, keys: KeyColumn): void {
    keys.pushValue(this.value(cur));
  }
}

/** The `at`-th cell of a CSV record, read like parseCsv reads the record's first row ('' when missing). */
export function csvCellAt(buf: Buffer, start: number, end: number, at: number): string {
  let i = start;
  if (buf[i] === 0xef && buf[i + 1] === 0xbb && buf[i + 2] === 0xbf) i += 3;
  let cell = 0;
  let quoted = false;
  let from = i;
  let unquote = false;
  for (; i < end; i++) {
    const c = buf[i];
    if (quoted) {
      if (c === QUOTE) quoted = false;
    } else if (c === QUOTE) {
      quoted = true;
      unquote = true;
    } else if (c === 44 || c === 10 || c === 13) {
      if (cell === at) break;
      if (c !== 44) return '';
      cell++;
      from = i + 1;
      unquote = false;
    }
  }
  if (cell !== at) return '';
  const text = buf.toString('utf8', from, i);
  return unquote ? unquoteCell(text) : text;
}

/** A cell's text without its quotes (quotes may open and close anywhere, "" inside quotes is one). */
function unquoteCell(text: string): string {
  let out = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch !== '"') out += ch;
    else if (!quoted) quoted = true;
    else if (text[i + 1] === '"') {
      out += '"';
      i++;
    } else quoted = false;
  }
  return out;
}

export function columnReader(format: RowFormat, column: string, csvHeader: string[] | null): ColumnReader {
  if (format === 'csv') {
    const at = csvHeader ? csvHeader.lastIndexOf(column) : -1;
    return at >= 0 ? new CsvCellReader(at) : new ParsedReader(column);
  }
  return column.includes('.') ? new JsonPathReader(column) : new JsonFieldReader(column);
}

/** "The column's text contains" (case-insensitive), as the grid's filters mean it. */
export class ColumnFilter {
  constructor(
    private readonly reader: ColumnReader,
    private readonly needle: string,
  ) {}
  test(cur: RecordCursor): boolean {
    return cellText(this.reader.value(cur)).includes(this.needle);
  }
}

const FOLD = new Uint8Array(256).map((_, c) => (c >= 65 && c <= 90 ? c + 32 : c));

/**
 * "The record's text contains" (case-insensitive) over the raw record. An ASCII search text is
 * matched on the bytes; only a record holding one of the two characters whose lower case is
 * ASCII (U+0130 'İ', U+212A Kelvin sign) and no byte match is decoded and lower-cased.
 */
export class RecordSearch {
  private readonly bytes: Uint8Array | null;
  constructor(private readonly needle: string) {
    this.bytes = /^[\x00-\x7f]+$/.test(needle) ? Buffer.from(needle, 'latin1') : null;
  }

  test(cur: RecordCursor): boolean {
    const nb = this.bytes;
    if (!nb) return cur.text().toLowerCase().includes(this.needle);
    const buf = cur.buf;
    const m = nb.length;
    const first = nb[0];
    const last = cur.end - m;
    let special = false;
    for (let i = cur.start; i < cur.end; i++) {
      const c = buf[i];
      if (c === 0xc4 || c === 0xe2) special = true;
      if (i <= last && FOLD[c] === first) {
        let k = 1;
        while (k < m && FOLD[buf[i + k]] === nb[k]) k++;
        if (k === m) return true;
      }
    }
    return special && cur.text().toLowerCase().includes(this.needle);
  }
}

