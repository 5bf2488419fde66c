// Records to rows: each record version becomes one row of typed values, column by column, for the
// table's current columns. Fields the table doesn't have yet are found first (widen), so no value is
// dropped; a value that doesn't fit its column's type is NULL there and always kept in `_record`.
import { recordTimestamp } from '../export';
import { columnTypeOfValue, fieldValues } from './customFields';
import type { ColumnSpec, ColumnType, FieldColumn } from './model';
import { RECORD_COLUMN, SYSTEM_COLUMNS, type ResourceLayout } from './resources';
import { textOf } from '../text';

/** A value ready for a driver: Date for timestamps and dates, JSON text for json. */
export type SqlValue = string | number | boolean | Date | null;

const SYSTEM = new Set(SYSTEM_COLUMNS.map((s) => s.name));

export function coerce(value: unknown, type: ColumnType): SqlValue {
  if (value === undefined || value === null) return null;
  switch (type) {
    case 'bigint':
      if (typeof value === 'number') return Number.isInteger(value) ? value : null;
      if (typeof value === 'string' && /^-?\d{1,15}$/.test(value)) return Number(value);
      if (typeof value === 'boolean') return null;
      return null;
    case 'double':
      if (typeof value === 'number') return Number.isFinite(value) ? value : null;
      if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
      return null;
    case 'boolean':
      return typeof value === 'boolean' ? value : null;
    case 'text':
      if (typeof value === 'string') return value;
      if (typeof value === 'number' || typeof value === 'boolean') return String(value);
      return JSON.stringify(value);
    case 'timestamp': {
      if (typeof value === 'number' && Number.isFinite(value)) return new Date(value * 1000);
      if (typeof value !== 'string') return null;
      const ms = Date.parse(value);
      return Number.isNaN(ms) ? null : new Date(ms);
    }
    case 'date': {
      if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}/.test(value)) return null;
      const ms = Date.parse(`${value.slice(0, 10)}T00:00:00Z`);
      return Number.isNaN(ms) ? null : new Date(ms);
    }
    case 'json':
      return JSON.stringify(value);
  }
}

/** The columns of a new versions table: system columns, id, documented fields, custom fields, `_record`. */
export function initialColumns(layout: ResourceLayout, fields: FieldColumn[]): ColumnSpec[] {
  return [
    ...SYSTEM_COLUMNS,
    { name: 'id', type: layout.idType },
    ...layout.columns,
    ...fields.map((f) => ({ name: f.column, type: f.type })),
    RECORD_COLUMN,
  ];
}

/** Top-level fields of the records that no column holds yet, typed by their first non-null value. */
export function newTopLevelColumns(records: Record<string, unknown>[], columns: ColumnSpec[]): ColumnSpec[] {
  const known = new Set(columns.map((c) => c.name));
  const found = new Map<string, ColumnType | null>();
  for (const r of records) {
    for (const [key, value] of Object.entries(r)) {
      if (known.has(key) || key.startsWith('_') || !/^[A-Za-z][A-Za-z0-9_]{0,62}$/.test(key)) continue;
      if (found.get(key) == null) found.set(key, value === null || value === undefined ? null : columnTypeOfValue(value));
    }
  }
  return [...found].map(([name, type]) => ({ name, type: type ?? 'text' }));
}

/** Custom-field refs the records carry, with a sample value each. */
export function seenFieldRefs(records: Record<string, unknown>[], layout: ResourceLayout): Map<string, unknown> {
  const seen = new Map<string, unknown>();
  if (!layout.customFields) return seen;
  for (const r of records) {
    for (const [ref, value] of fieldValues(r, layout.customFields.field)) {
      if (!seen.has(ref) || (seen.get(ref) === null && value !== null)) seen.set(ref, value);
    }
  }
  return seen;
}

export interface PageMeta {
  /** Position of the first record: the number of records exported before it, plus one. */
  firstPosition: number;
  page: number;
  exportedAt: Date;
}

/** The page as one array of values per column, in the order of `columns`. */
export function pageColumns(records: Record<string, unknown>[], layout: ResourceLayout, columns: ColumnSpec[], fields: FieldColumn[], meta: PageMeta): SqlValue[][] {
  const byColumn = new Map(fields.map((f) => [f.column, f]));
  const values = layout.customFields ? records.map((r) => fieldValues(r, layout.customFields!.field)) : [];
  return columns.map((col) => {
    const out = new Array<SqlValue>(records.length);
    const field = byColumn.get(col.name);
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      if (field) out[i] = coerce(values[i].get(field.ref), col.type);
      else if (col.name === RECORD_COLUMN.name) out[i] = JSON.stringify(r);
      else if (SYSTEM.has(col.name)) out[i] = systemValue(col.name, r, i, layout, meta);
      else out[i] = coerce(r[col.name], col.type);
    }
    return out;
  });
}

function systemValue(name: string, r: Record<string, unknown>, i: number, layout: ResourceLayout, meta: PageMeta): SqlValue {
  switch (name) {
    case '_position': return meta.firstPosition + i;
    case '_page': return meta.page;
    case '_exported_at': return meta.exportedAt;
    case '_version': return recordTimestamp(r, layout.versionField) ?? 0;
    case '_deleted': return layout.isDeleted(r);
    default: return null;
  }
}

/** Sideload tables: id, page, time, top-level fields as found, the record. */
export const SIDELOAD_SYSTEM: ColumnSpec[] = [
  { name: 'id', type: 'text' },
  { name: '_page', type: 'bigint' },
  { name: '_exported_at', type: 'timestamp' },
];

export function sideloadColumns(records: Record<string, unknown>[], columns: ColumnSpec[], meta: PageMeta): SqlValue[][] {
  return columns.map((col) => records.map((r) => {
    switch (col.name) {
      case 'id': return r.id === undefined || r.id === null ? null : textOf(r.id);
      case '_page': return meta.page;
      case '_exported_at': return meta.exportedAt;
      case RECORD_COLUMN.name: return JSON.stringify(r);
      default: return coerce(r[col.name], col.type);
    }
  }));
}
