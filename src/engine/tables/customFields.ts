// Custom fields as named columns: `cf_<slug of title>`, unique within the table, given once and never
// changed (a renamed field keeps its column, a deleted one keeps it too). Fields seen in records
// before any definition names them get `cf_<id>` (tickets) or `cf_<key>` (users, organizations).
import type { CsvFieldNames } from '../export';
import type { ColumnType, FieldColumn, FieldDefinition, FieldKind } from './model';

/** PostgreSQL cuts identifiers at 63 bytes; the suffix for uniqueness needs room. */
const MAX_COLUMN = 58;

/** `cf_` + the title in lower snake case, ASCII only. */
export function fieldColumnName(text: string): string {
  const s = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  return `cf_${s}`.slice(0, MAX_COLUMN).replace(/_+$/, '');
}

/** `base`, or `base_2`, `base_3`, … whichever is free; the result is added to `taken`. */
export function uniqueName(base: string, taken: Set<string>): string {
  let name = base;
  for (let n = 2; taken.has(name); n++) name = `${base}_${n}`;
  taken.add(name);
  return name;
}

/** The column type for a Zendesk field type; values that don't fit are NULL there and stay in `_record`. */
export function columnTypeOfField(type: string): ColumnType {
  switch (type) {
    case 'checkbox': return 'boolean';
    case 'integer': return 'bigint';
    case 'decimal': return 'double';
    case 'date': return 'date';
    case 'multiselect': return 'json';
    default: return 'text';
  }
}

/** The column type for a value met without a definition. */
export function columnTypeOfValue(value: unknown): ColumnType {
  if (typeof value === 'boolean') return 'boolean';
  if (typeof value === 'number') return Number.isInteger(value) ? 'bigint' : 'double';
  if (value !== null && typeof value === 'object') return 'json';
  return 'text';
}

/** What a record version carries for each custom field: ref (id or key) → value. */
export function fieldValues(record: Record<string, unknown>, field: 'custom_fields' | 'user_fields' | 'organization_fields'): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const raw = record[field];
  if (field === 'custom_fields') {
    if (Array.isArray(raw)) {
      for (const item of raw) {
        if (item && typeof item === 'object' && 'id' in item) out.set(String((item as { id: unknown }).id), (item as { value?: unknown }).value ?? null);
      }
    }
  } else if (raw && typeof raw === 'object' && !Array.isArray(raw)) {
    for (const [key, value] of Object.entries(raw)) out.set(key, value);
  }
  return out;
}

/** The ref records carry a field by: a ticket field's id, a user or organization field's key. */
function refOf(kind: FieldKind, d: FieldDefinition): string {
  return kind === 'ticket' ? String(d.id) : d.key ?? String(d.id);
}

/** A field's column name before uniqueness: its title's slug, else (a title of only symbols) its ref. */
function baseName(kind: FieldKind, d: FieldDefinition): string {
  return fieldColumnName(d.title) === 'cf' ? `cf_${refOf(kind, d)}` : fieldColumnName(d.title);
}

/** New columns come in a stable order: active fields first, then by id. */
function columnOrder(a: FieldDefinition, b: FieldDefinition): number {
  return Number(b.active) - Number(a.active) || a.id - b.id;
}

/** The same names for a CSV output's columns (src/engine/export/output/csv.ts keeps them in its checkpoint). */
export function csvFieldNames(kind: FieldKind, field: CsvFieldNames['field'], definitions: FieldDefinition[] | null): CsvFieldNames {
  const defs = [...(definitions ?? [])].sort(columnOrder);
  const byRef = new Map(defs.map((d) => [refOf(kind, d), d]));
  return {
    field,
    defined: defs.map((d) => refOf(kind, d)),
    name: (ref, taken) => {
      const d = byRef.get(ref);
      return uniqueName(d ? baseName(kind, d) : fieldColumnName(ref), taken);
    },
  };
}

export interface FieldPlan {
  /** Every mapping, old and new. */
  columns: FieldColumn[];
  /** Mappings that need a new column. */
  added: FieldColumn[];
  /** Existing mappings whose title or presence changed (the column stays). */
  changed: FieldColumn[];
}

/**
 * Brings the mapping up to date with the definitions (null: unknown, nothing is marked deleted) and
 * the refs met in records. New definitions get columns in a stable order: active fields first, then by id.
 */
export function planFieldColumns(kind: FieldKind, existing: FieldColumn[], definitions: FieldDefinition[] | null, seenRefs: Iterable<[string, unknown]>, takenColumns: Set<string>): FieldPlan {
  const byRef = new Map(existing.map((f) => [f.ref, { ...f }]));
  const added: FieldColumn[] = [];
  const changed: FieldColumn[] = [];
  if (definitions) {
    const listed = new Set(definitions.map((d) => refOf(kind, d)));
    const fresh = definitions.filter((d) => !byRef.has(refOf(kind, d))).sort(columnOrder);
    for (const d of definitions) {
      const known = byRef.get(refOf(kind, d));
      if (known && (known.title !== d.title || !known.present || known.fieldId !== d.id)) {
        Object.assign(known, { title: d.title, present: true, fieldId: d.id });
        changed.push(known);
      }
    }
    for (const d of fresh) {
      const column = uniqueName(baseName(kind, d), takenColumns);
      const f: FieldColumn = { ref: refOf(kind, d), fieldId: d.id, key: d.key, column, title: d.title, type: columnTypeOfField(d.type), present: true };
      byRef.set(f.ref, f);
      added.push(f);
    }
    for (const f of byRef.values()) {
      if (f.present && !listed.has(f.ref) && !added.includes(f)) {
        f.present = false;
        changed.push(f);
      }
    }
  }
  for (const [ref, value] of seenRefs) {
    if (byRef.has(ref)) continue;
    const column = uniqueName(fieldColumnName(ref), takenColumns);
    const f: FieldColumn = {
      ref, fieldId: kind === 'ticket' && /^\d+$/.test(ref) ? Number(ref) : null, key: kind === 'ticket' ? null : ref,
      column, title: null, type: columnTypeOfValue(value), present: definitions === null,
    };
    byRef.set(ref, f);
    added.push(f);
  }
  return { columns: [...byRef.values()], added, changed };
}
