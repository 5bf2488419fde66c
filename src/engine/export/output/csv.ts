// CSV for spreadsheets: flattened columns fixed by the first page, later fields kept in `_extra`,
// RFC 4180 quoting, and cells that a spreadsheet would run as a formula neutralised. Custom fields
// are named as the table outputs name them (`cf_<title>`) when the account's field lists are known:
// a new file has a column for every defined field, and the names are kept in the checkpoint, so a
// renamed field keeps its column and a field created later goes to `_extra` under its own name.
import type { FormatWriter } from './formatWriter';

/** Column holding, as a JSON object, fields that appeared after the columns were fixed. */
export const EXTRA_COLUMN = '_extra';

/** How custom-field columns are named (built by the tables room from Zendesk's field lists). */
export interface CsvFieldNames {
  /** Where records carry custom fields: tickets `custom_fields` ([{id, value}]), users `user_fields`, organizations `organization_fields` ({key: value}). */
  field: 'custom_fields' | 'user_fields' | 'organization_fields';
  /** Every defined field's ref (a ticket field's id, a user or organization field's key), in column order. */
  defined: string[];
  /** The column name of a field, unique among `taken` (and added to it); asked once per field, the answer kept in the checkpoint. */
  name(ref: string, taken: Set<string>): string;
}

/** The checkpoint's state of a CSV whose fields are named: columns by flattened key, and the names of field keys (header and `_extra` alike). */
interface NamedColumns {
  field: CsvFieldNames['field'];
  columns: string[];
  names: Record<string, string>;
}

/** Whether a checkpoint holds a CSV writer state: the columns (files written without field names), or columns and names. */
export function isCsvState(state: unknown): state is string[] | NamedColumns {
  const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every((c) => typeof c === 'string');
  if (strings(state)) return true;
  if (!state || typeof state !== 'object') return false;
  const named = state as Partial<NamedColumns>;
  return (named.field === 'custom_fields' || named.field === 'user_fields' || named.field === 'organization_fields') && strings(named.columns)
    && !!named.names && typeof named.names === 'object' && Object.values(named.names).every((n) => typeof n === 'string');
}

const PLAIN_NUMBER = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/;

/** The columns as a tree of their dot-separated parts: a nested field finds its column without building its dotted name. */
interface ColumnNode {
  at?: number;
  children?: Map<string, ColumnNode>;
  /** The keys of the last object met at this place and their nodes: records of a page share their shape. */
  lastKeys?: string[];
  lastNodes?: (ColumnNode | undefined)[];
}

export class CsvWriter implements FormatWriter {
  readonly prologue = '';
  readonly epilogue = '';
  /** The columns by flattened key (`custom_fields.<id>`, `via.channel`, …): what the row's cells follow. */
  private columns: string[] | null;
  private index = new Map<string, number>();
  private tree: ColumnNode = {};
  /** The row being encoded: its cells by column, and the fields no column holds. */
  private cells: string[] = [];
  private extra: Record<string, unknown> | null = null;
  /** Field names, when this file has them: by flattened key; `taken` holds every name used (header and `_extra`). */
  private readonly naming: CsvFieldNames | null;
  private names = new Map<string, string>();
  private readonly taken = new Set<string>();

  /**
   * `resumed` is the checkpoint's writer state of a resumed file, null for a new file. `naming` names
   * custom-field columns in a new file; a file begun without names (its state is only columns) keeps
   * its ids.
   */
  constructor(resumed: string[] | NamedColumns | null, naming: CsvFieldNames | null = null) {
    this.columns = null;
    if (Array.isArray(resumed)) {
      this.naming = null;
      this.fix(resumed);
    } else if (resumed) {
      // Without the account's lists this run, a field new to the file is named after its id or key.
      this.naming = naming?.field === resumed.field ? naming : { field: resumed.field, defined: [], name: (ref, taken) => uniqueColumn(`cf_${ref.toLowerCase().replace(/[^a-z0-9]+/g, '_')}`, taken) };
      this.fix(resumed.columns);
      this.names = new Map(Object.entries(resumed.names));
      for (const c of this.columns!) this.taken.add(this.names.get(c) ?? c);
      for (const n of this.names.values()) this.taken.add(n);
    } else {
      this.naming = naming;
    }
  }

  encode(records: Record<string, unknown>[]): string {
    if (records.length === 0) return '';
    let out = '';
    if (!this.columns) {
      const seen = new Set<string>();
      for (const r of records) for (const key of flattenRecord(r).keys()) if (key !== EXTRA_COLUMN) seen.add(key);
      this.fix(this.naming ? this.nameFields([...seen]) : [...seen, EXTRA_COLUMN]);
      out += csvLine(this.columns!.map((c) => csvCell(this.names.get(c) ?? c)));
    }
    const cells = this.cells;
    const extraAt = this.index.get(EXTRA_COLUMN)!;
    for (const record of records) {
      cells.fill('');
      this.extra = null;
      this.fields(record, this.tree, '');
      if (this.extra) cells[extraAt] = csvCell(JSON.stringify(this.extra));
      out += csvLine(cells);
    }
    return out;
  }

  state(): string[] | NamedColumns | null {
    if (!this.columns) return null;
    return this.naming ? { field: this.naming.field, columns: [...this.columns], names: Object.fromEntries(this.names) } : [...this.columns];
  }

  /**
   * The first page's columns with its custom fields named: every defined field, then those only the
   * records carry, in place of the first field column (at the end if none), `_extra` last.
   */
  private nameFields(seen: string[]): string[] {
    const naming = this.naming!;
    const prefix = `${naming.field}.`;
    const plain: string[] = [];
    let fieldsAt = -1;
    const refs = [...naming.defined];
    const known = new Set(refs);
    for (const key of seen) {
      if (!key.startsWith(prefix)) {
        plain.push(key);
        continue;
      }
      if (fieldsAt < 0) fieldsAt = plain.length;
      const ref = key.slice(prefix.length);
      if (!known.has(ref)) {
        known.add(ref);
        refs.push(ref);
      }
    }
    for (const c of [...plain, EXTRA_COLUMN]) this.taken.add(c);
    const fieldKeys = refs.map((ref) => {
      const key = prefix + ref;
      this.names.set(key, naming.name(ref, this.taken));
      return key;
    });
    const at = fieldsAt < 0 ? plain.length : fieldsAt;
    return [...plain.slice(0, at), ...fieldKeys, ...plain.slice(at), EXTRA_COLUMN];
  }

  /** A field no column holds goes to `_extra` by its name (given once, kept), anything else by its key. */
  private extraName(key: string): string {
    const known = this.names.get(key);
    if (known !== undefined) return known;
    const prefix = `${this.naming!.field}.`;
    if (!key.startsWith(prefix)) return key;
    const name = this.naming!.name(key.slice(prefix.length), this.taken);
    this.names.set(key, name);
    return name;
  }

  /** Puts the flattened fields of `obj` (as flattenRecord walks them) into the row's cells. */
  private fields(obj: Record<string, unknown>, node: ColumnNode | undefined, prefix: string): void {
    const children = node?.children;
    const lastKeys = node ? (node.lastKeys ??= []) : undefined;
    const lastNodes = node ? (node.lastNodes ??= []) : undefined;
    // Keys and values in two native calls: obj[k] by a computed key is a slow generic lookup.
    const keys = Object.keys(obj);
    const values = Object.values(obj);
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i];
      const v = values[i];
      let child: ColumnNode | undefined;
      if (lastKeys && lastKeys[i] === k) {
        child = lastNodes![i];
      } else {
        child = children?.get(k);
        if (lastKeys) {
          lastKeys[i] = k;
          lastNodes![i] = child;
        }
      }
      if (k === 'custom_fields' && Array.isArray(v) && v.length > 0 && v.every(isIdValue)) {
        for (const field of v) {
          const id = String(field.id);
          this.put(child?.children?.get(id), prefix, `${k}.${id}`, field.value);
        }
      } else if (isPlainObject(v) && !isEmpty(v)) {
        this.fields(v, child, prefix ? `${prefix}.${k}` : k);
      } else {
        this.put(child, prefix, k, v);
      }
    }
  }

  private put(node: ColumnNode | undefined, prefix: string, k: string, value: unknown): void {
    let at = node?.at;
    if (at === undefined) {
      // Not a column by its parts: by its dotted name (keys may hold dots themselves), or a field for _extra.
      const key = prefix ? `${prefix}.${k}` : k;
      at = key === EXTRA_COLUMN ? undefined : this.index.get(key);
      if (at === undefined) {
        // A field seen twice (a dotted key and a nested one) keeps its last value, as flattenRecord's Map does.
        (this.extra ??= {})[this.naming ? this.extraName(key) : key] = value;
        return;
      }
    }
    this.cells[at] = csvCell(value);
  }

  private fix(columns: string[]): void {
    this.columns = columns.includes(EXTRA_COLUMN) ? [...columns] : [...columns, EXTRA_COLUMN];
    this.index = new Map(this.columns.map((c, i) => [c, i]));
    this.cells = new Array<string>(this.columns.length).fill('');
    this.tree = {};
    this.columns.forEach((column, at) => {
      if (column === EXTRA_COLUMN) return;
      let node = this.tree;
      for (const part of column.split('.')) {
        node.children ??= new Map();
        let next = node.children.get(part);
        if (!next) node.children.set(part, (next = {}));
        node = next;
      }
      node.at = at;
    });
  }
}

/** `base`, or `base_2`, `base_3`, … whichever is free; the result is added to `taken`. */
export function uniqueColumn(base: string, taken: Set<string>): string {
  let name = base;
  for (let n = 2; taken.has(name); n++) name = `${base}_${n}`;
  taken.add(name);
  return name;
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
        if (isEmpty(v)) out.set(key, v);
        else walk(v, key);
      } else {
        out.set(key, v);
      }
    }
  };
  walk(record, '');
  return out;
}

function isEmpty(obj: Record<string, unknown>): boolean {
  for (const k in obj) if (Object.prototype.hasOwnProperty.call(obj, k)) return false;
  return true;
}

/** One cell's text: JSON for arrays/objects, empty for null, and a leading `'` for formula-looking strings. */
export function csvCell(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return quoted(neutralised(value));
    case 'number':
    case 'bigint':
      // Digits, sign, dot, exponent: never needs quotes.
      return String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'undefined':
      return '';
    default:
      if (value === null) return '';
      return jsonCell(value);
  }
}

/**
 * The cell of an array or object: its JSON, quoted like any cell. Arrays and objects of plain
 * values (what API records hold) are written straight into the cell with their quotes doubled,
 * which saves a second pass over the JSON; anything else goes through JSON.stringify.
 */
function jsonCell(value: unknown): string {
  const direct = plainJson(value);
  if (direct !== null) return direct.needsQuotes ? `"${direct.text}"` : direct.text;
  return quoted(JSON.stringify(value) ?? '');
}

/** JSON.stringify's text of `value` with every quote doubled (and whether the cell needs quotes), or null when unsure. */
function plainJson(value: unknown): { text: string; needsQuotes: boolean } | null {
  const state = { needsQuotes: false };
  const text = plainJsonText(value, state, 0);
  return text === null ? null : { text, needsQuotes: state.needsQuotes };
}

function plainJsonText(value: unknown, state: { needsQuotes: boolean }, depth: number): string | null {
  if (depth > 2 || typeof value !== 'object' || value === null) return null;
  // Plain arrays and objects only: a Date or anything with toJSON is JSON.stringify's to write.
  const proto = Object.getPrototypeOf(value) as unknown;
  if ((proto !== Array.prototype && proto !== Object.prototype && proto !== null) || typeof (value as { toJSON?: unknown }).toJSON === 'function') return null;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      const item = plainJsonValue(value[i], state, depth);
      if (item === null) return null;
      out += i === 0 ? item : `,${item}`;
    }
    if (value.length > 1) state.needsQuotes = true;
    return `${out}]`;
  }
  let out = '{';
  let n = 0;
  const obj = value as Record<string, unknown>;
  for (const k of Object.keys(obj)) {
    if (!plainJsonString(k)) return null;
    const item = plainJsonValue(obj[k], state, depth);
    if (item === null) return null;
    out += `${n++ === 0 ? '' : ','}""${k}"":${item}`;
  }
  // Keys are quoted: any key makes the cell quoted.
  if (n > 0) state.needsQuotes = true;
  return `${out}}`;
}

function plainJsonValue(v: unknown, state: { needsQuotes: boolean }, depth: number): string | null {
  switch (typeof v) {
    case 'string':
      if (!plainJsonString(v)) return null;
      state.needsQuotes = true;
      return `""${v}""`;
    case 'number':
      return Number.isFinite(v) ? String(v) : null;
    case 'boolean':
      return v ? 'true' : 'false';
    case 'object':
      return v === null ? 'null' : plainJsonText(v, state, depth + 1);
    default:
      return null;
  }
}

/** JSON.stringify writes this string as is between quotes: no quote, backslash, control character or surrogate. */
function plainJsonString(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 34 || c === 92 || (c >= 0xd800 && c <= 0xdfff)) return false;
  }
  return true;
}

/** A text a spreadsheet would run as a formula (=, +, -, @, tab, CR first) gets a leading `'`; plain numbers like -1 don't. */
function neutralised(text: string): string {
  const c = text.charCodeAt(0);
  if (c === 61 || c === 43 || c === 64 || c === 9 || c === 13 || (c === 45 && !PLAIN_NUMBER.test(text))) return `'${text}`;
  return text;
}

/** RFC 4180: a cell holding a quote, comma or line break is quoted, its quotes doubled. */
function quoted(text: string): string {
  if (text.length > 64) return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 || c === 44 || c === 10 || c === 13) return `"${text.replaceAll('"', '""')}"`;
  }
  return text;
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
