// CSV for spreadsheets: flattened columns fixed by the first page, later fields kept in `_extra`,
// RFC 4180 quoting, and cells that a spreadsheet would run as a formula neutralised.
import type { FormatWriter } from './formatWriter';

/** Column holding, as a JSON object, fields that appeared after the columns were fixed. */
export const EXTRA_COLUMN = '_extra';

const FORMULA_START = /^[=+\-@\t\r]/;
const PLAIN_NUMBER = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/;

export class CsvWriter implements FormatWriter {
  readonly prologue = '';
  readonly epilogue = '';
  private columns: string[] | null;
  private index = new Map<string, number>();

  /** `columns` is the header of a resumed file (from the checkpoint's writer state), null for a new file. */
  constructor(columns: string[] | null) {
    this.columns = null;
    if (columns) this.fix(columns);
  }

  encode(records: Record<string, unknown>[]): string {
    if (records.length === 0) return '';
    const flat = records.map(flattenRecord);
    let out = '';
    if (!this.columns) {
      const seen = new Set<string>();
      for (const row of flat) for (const key of row.keys()) if (key !== EXTRA_COLUMN) seen.add(key);
      this.fix([...seen, EXTRA_COLUMN]);
      out += csvLine(this.columns!.map((c) => csvCell(c)));
    }
    const width = this.columns!.length;
    const extraAt = this.index.get(EXTRA_COLUMN)!;
    for (const row of flat) {
      const cells = new Array<string>(width).fill('');
      let extra: Record<string, unknown> | null = null;
      for (const [key, value] of row) {
        const at = key === EXTRA_COLUMN ? undefined : this.index.get(key);
        if (at === undefined) (extra ??= {})[key] = value;
        else cells[at] = csvCell(value);
      }
      if (extra) cells[extraAt] = csvCell(JSON.stringify(extra));
      out += csvLine(cells);
    }
    return out;
  }

  state(): string[] | null {
    return this.columns ? [...this.columns] : null;
  }

  private fix(columns: string[]): void {
    this.columns = columns.includes(EXTRA_COLUMN) ? [...columns] : [...columns, EXTRA_COLUMN];
    this.index = new Map(this.columns.map((c, i) => [c, i]));
  }
}

/** CSV of chosen columns (a grid view's visible ones): the header first, then one row per record. */
export class CsvTableWriter implements FormatWriter {
  readonly prologue: string;
  readonly epilogue = '';
  constructor(private readonly columns: string[]) {
    this.prologue = csvLine(columns.map((c) => csvCell(c)));
  }
  /** Each record maps a column name to its value. */
  encode(records: Record<string, unknown>[]): string {
    let out = '';
    for (const r of records) out += csvLine(this.columns.map((c) => csvCell(r[c])));
    return out;
  }
  state(): null {
    return null;
  }
}

/**
 * Nested objects become dotted keys, arrays stay JSON, and `custom_fields` ([{id, value}]) become
 * `custom_fields.<id>` so each field is its own column. Key order follows the record.
 */
export function flattenRecord(record: Record<string, unknown>): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const walk = (obj: Record<string, unknown>, prefix: string): void => {
    for (const [k, v] of Object.entries(obj)) {
      const key = prefix ? `${prefix}.${k}` : k;
      if (k === 'custom_fields' && Array.isArray(v) && v.length > 0 && v.every(isIdValue)) {
        for (const field of v) out.set(`${key}.${String(field.id)}`, field.value);
      } else if (isPlainObject(v)) {
        // An empty object would otherwise vanish; keep it visible and round-trippable.
        if (Object.keys(v).length === 0) out.set(key, v);
        else walk(v, key);
      } else {
        out.set(key, v);
      }
    }
  };
  walk(record, '');
  return out;
}

/** One cell's text: JSON for arrays/objects, empty for null, and a leading `'` for formula-looking strings. */
export function csvCell(value: unknown): string {
  let text: string;
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') {
    text = FORMULA_START.test(value) && !PLAIN_NUMBER.test(value) ? `'${value}` : value;
  } else if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    text = String(value);
  } else {
    text = JSON.stringify(value);
  }
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function csvLine(cells: string[]): string {
  return `${cells.join(',')}\r\n`;
}

/** RFC 4180 reader (quoted fields, doubled quotes, CRLF or LF). Used to read outputs back, e.g. for the grid. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  for (; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i++;
        } else {
          quoted = false;
        }
      } else {
        cell += ch;
      }
    } else if (ch === '"') {
      quoted = true;
    } else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\r' || ch === '\n') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else {
      cell += ch;
    }
  }
  if (cell !== '' || row.length > 0) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isIdValue(v: unknown): v is { id: string | number; value: unknown } {
  return isPlainObject(v) && (typeof v.id === 'number' || typeof v.id === 'string') && 'value' in v;
}
