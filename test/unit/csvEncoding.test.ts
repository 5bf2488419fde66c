import { strict as assert } from 'node:assert';
import { CsvTableWriter, createFormatWriter, csvCell, flattenRecord, parseCsv, type CsvFieldNames } from '../../src/engine/export';

type Rec = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------
// The straightforward encoder the fast one must match byte for byte: a Map of flattened fields per
// record, regular expressions per cell, columns fixed by the first page, later fields in _extra.
// ---------------------------------------------------------------------------------------------

const REF_FORMULA_START = /^[=+\-@\t\r]/;
const REF_PLAIN_NUMBER = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/;

function refCell(value: unknown): string {
  let text: string;
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') text = REF_FORMULA_START.test(value) && !REF_PLAIN_NUMBER.test(value) ? `'${value}` : value;
  else if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') text = String(value);
  else text = JSON.stringify(value) ?? '';
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function refIsPlainObject(v: unknown): v is Rec {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function refFlatten(record: Rec): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const walk = (obj: Rec, prefix: string): void => {
    for (const [k, v] of Object.entries(obj)) {
      const key = prefix ? `${prefix}.${k}` : k;
      const idValue = (f: unknown) => refIsPlainObject(f) && (typeof f.id === 'number' || typeof f.id === 'string') && 'value' in f;
      if (k === 'custom_fields' && Array.isArray(v) && v.length > 0 && v.every(idValue)) {
        for (const field of v as { id: unknown; value: unknown }[]) out.set(`${key}.${String(field.id)}`, field.value);
      } else if (refIsPlainObject(v)) {
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

class RefCsvWriter {
  private columns: string[] | null = null;
  private index = new Map<string, number>();
  constructor(columns: string[] | null) {
    if (columns) this.fix(columns);
  }
  encode(records: Rec[]): string {
    if (records.length === 0) return '';
    const flat = records.map(refFlatten);
    let out = '';
    if (!this.columns) {
      const seen = new Set<string>();
      for (const row of flat) for (const key of row.keys()) if (key !== '_extra') seen.add(key);
      this.fix([...seen, '_extra']);
      out += `${this.columns!.map(refCell).join(',')}\r\n`;
    }
    for (const row of flat) {
      const cells = new Array<string>(this.columns!.length).fill('');
      let extra: Rec | null = null;
      for (const [key, value] of row) {
        const at = key === '_extra' ? undefined : this.index.get(key);
        if (at === undefined) (extra ??= {})[key] = value;
        else cells[at] = refCell(value);
      }
      if (extra) cells[this.index.get('_extra')!] = refCell(JSON.stringify(extra));
      out += `${cells.join(',')}\r\n`;
    }
    return out;
  }
  private fix(columns: string[]): void {
    this.columns = columns.includes('_extra') ? [...columns] : [...columns, '_extra'];
    this.index = new Map(this.columns.map((c, i) => [c, i]));
  }
}

/**
 * The reference with custom fields named: the first page's field columns (every defined field, then
 * those only the records carry) stand where the first one appeared, headed by their names; a field
 * no column holds goes to _extra under its name.
 */
class RefNamedCsvWriter {
  private columns: string[] | null = null;
  private index = new Map<string, number>();
  private readonly names = new Map<string, string>();
  private readonly taken = new Set<string>();
  constructor(private readonly naming: CsvFieldNames) {}
  encode(records: Rec[]): string {
    if (records.length === 0) return '';
    const prefix = `${this.naming.field}.`;
    const flat = records.map(refFlatten);
    let out = '';
    if (!this.columns) {
      const seen = new Set<string>();
      for (const row of flat) for (const key of row.keys()) if (key !== '_extra') seen.add(key);
      const plain = [...seen].filter((k) => !k.startsWith(prefix));
      const firstField = [...seen].findIndex((k) => k.startsWith(prefix));
      const at = firstField < 0 ? plain.length : [...seen].slice(0, firstField).filter((k) => !k.startsWith(prefix)).length;
      const refs = [...new Set([...this.naming.defined, ...[...seen].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length))])];
      for (const c of [...plain, '_extra']) this.taken.add(c);
      const fieldKeys = refs.map((ref) => {
        this.names.set(prefix + ref, this.naming.name(ref, this.taken));
        return prefix + ref;
      });
      this.columns = [...plain.slice(0, at), ...fieldKeys, ...plain.slice(at), '_extra'];
      this.index = new Map(this.columns.map((c, i) => [c, i]));
      out += `${this.columns.map((c) => refCell(this.names.get(c) ?? c)).join(',')}\r\n`;
    }
    for (const row of flat) {
      const cells = new Array<string>(this.columns.length).fill('');
      let extra: Rec | null = null;
      for (const [key, value] of row) {
        const at = key === '_extra' ? undefined : this.index.get(key);
        if (at !== undefined) {
          cells[at] = refCell(value);
          continue;
        }
        let name = this.names.get(key);
        if (name === undefined && key.startsWith(prefix)) this.names.set(key, (name = this.naming.name(key.slice(prefix.length), this.taken)));
        (extra ??= {})[name ?? key] = value;
      }
      if (extra) cells[this.index.get('_extra')!] = refCell(JSON.stringify(extra));
      out += `${cells.join(',')}\r\n`;
    }
    return out;
  }
}

/** Names as the tables room gives them: titles for defined fields, `cf_<ref>` for the rest, `_2`, `_3` … when taken. */
function naming(titles: Record<string, string>): CsvFieldNames {
  return {
    field: 'custom_fields',
    defined: Object.keys(titles),
    name: (ref, taken) => {
      const base = titles[ref] ?? `cf_${ref}`;
      let name = base;
      for (let n = 2; taken.has(name); n++) name = `${base}_${n}`;
      taken.add(name);
      return name;
    },
  };
}

// ---------------------------------------------------------------------------------------------

const TEXTS = [
  'plain', '', ' ', 'with, comma', 'with "quotes"', 'line\nbreak', 'cr\rhere', 'crlf\r\n', 'tab\there', '\ttab first', '\rcr first',
  '=SUM(A1:A2)', '+1', '+', '-1', '-1.5e3', '-0', '-', '-x', '-1.', '--1', '@user', '=', '1e5', '007',
  'unicode é ü 中文', 'emoji 😀', 'lone \ud800 surrogate', 'back\\slash', 'ctl \u0001 char', 'del \u007f', 'ls \u2028 ps \u2029',
  'x'.repeat(100), `${'y'.repeat(70)},`, `${'z'.repeat(80)}"`, '"', ',', '""',
];

function varied(i: number): Rec {
  let seed = i * 7919 + 17;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648);
  const pick = <T>(xs: readonly T[]): T => xs[next() % xs.length];
  const value = (): unknown =>
    pick<unknown>([
      pick(TEXTS), pick(TEXTS), -1, 0, 1.5, 1e21, -0, 123456789012345, true, false, null, undefined,
      [], [1], [1, 2], ['a'], [pick(TEXTS)], [pick(TEXTS), pick(TEXTS)], [null, true, 2.5], [[]], [[1, [2, [3, [4]]]]], [{}], [{ a: 1 }, { b: 'x,y' }],
      [{ id: 1, value: pick(TEXTS) }], { nested: pick(TEXTS) }, {}, [NaN, Infinity], [undefined], new Date(Date.UTC(2024, 0, 2)), { toJSON: () => 'custom' },
      [{ 'we"ird': 1 }], [{ 'tab\tkey': 2 }],
    ]);
  const rec: Rec = {
    id: i,
    subject: pick(TEXTS),
    description: pick(TEXTS),
    value: value(),
    via: { channel: pick(['web', 'email', null]), source: { from: pick([{}, { address: pick(TEXTS) }]), to: {}, rel: pick([null, 'x']) } },
    tags: pick([[], ['a'], ['b', 'c,d'], [pick(TEXTS)]]),
    custom_fields: pick<unknown>([
      [{ id: 360001, value: value() }, { id: '360002', value: pick(TEXTS) }],
      [{ id: 360001, value: 1 }, { id: 360001, value: 2 }],
      [],
      [{ id: 1 }],
      [{ id: 1, value: 1 }, 'not an id/value'],
      'not an array',
    ]),
  };
  // Later pages bring fields the first page's columns don't have (they go to _extra), and oddities.
  if (next() % 4 === 0) rec[`late_${next() % 3}`] = value();
  if (next() % 5 === 0) rec['a.b'] = value();
  if (next() % 5 === 0) rec.a = { b: value(), c: { d: value() } };
  if (next() % 9 === 0) rec._extra = value();
  if (next() % 7 === 0) rec['custom_fields.360001'] = 'literal dotted';
  if (next() % 11 === 0) rec['we"ird key, with comma'] = value();
  if (next() % 13 === 0) rec.when = new Date(Date.UTC(2024, 5, 1));
  if (next() % 6 === 0) delete rec.description;
  return rec;
}

function pages(from: number, sizes: number[]): Rec[][] {
  const out: Rec[][] = [];
  let at = from;
  for (const n of sizes) {
    const page: Rec[] = [];
    for (let i = 0; i < n; i++) page.push(varied(at++));
    out.push(page);
  }
  return out;
}

describe('csv encoding', () => {
  it('writes the same bytes as the straightforward encoder over varied records and pages', () => {
    for (const sizes of [[1, 50, 200], [300, 300], [7, 1, 1, 500]]) {
      const fast = createFormatWriter('csv', null, null);
      const ref = new RefCsvWriter(null);
      for (const [n, page] of pages(sizes[0] * 13, sizes).entries()) {
        const got = fast.encode(page);
        const want = ref.encode(page);
        assert.equal(got, want, `page ${n} of ${sizes.join('+')}`);
      }
      assert.deepEqual(fast.state(), (ref as unknown as { columns: string[] }).columns);
    }
    // The rows still read back as their cells.
    const page = pages(0, [100])[0];
    const rows = parseCsv(createFormatWriter('csv', null, null).encode(page));
    assert.equal(rows.length, 101);
    assert.equal(rows[1][0], '0');
  });

  it('writes the same bytes for a resumed file (columns from the checkpoint) and for chosen columns', () => {
    const columns = ['id', 'subject', 'via.channel', 'custom_fields.360001', 'a.b', 'nope', '_extra'];
    const fast = createFormatWriter('csv', 1000, columns);
    const ref = new RefCsvWriter(columns);
    for (const page of pages(5000, [250, 250])) assert.equal(fast.encode(page), ref.encode(page));
    assert.deepEqual(fast.state(), columns);

    const table = new CsvTableWriter(['id', 'subject', 'value', 'tags']);
    const records = pages(9000, [300])[0];
    assert.equal(table.prologue, 'id,subject,value,tags\r\n');
    assert.equal(table.encode(records), records.map((r) => `${[r.id, r.subject, r.value, r.tags].map(refCell).join(',')}\r\n`).join(''));
  });

  it('names custom-field columns (every defined field, even one no record carries yet), byte for byte as the reference', () => {
    for (const sizes of [[1, 50, 200], [300, 300], [7, 1, 1, 500]]) {
      const names = naming({ 360002: 'cf_order', 999: 'cf_not_yet_seen', 360001: 'cf_order' });
      const fast = createFormatWriter('csv', null, null, names);
      const ref = new RefNamedCsvWriter(names);
      for (const [n, page] of pages(sizes[0] * 17, sizes).entries()) assert.equal(fast.encode(page), ref.encode(page), `page ${n} of ${sizes.join('+')}`);
    }
    // (Integer-like keys list in numeric order: 999 is defined first.)
    const fast = createFormatWriter('csv', null, null, naming({ 360001: 'cf_tier', 999: 'cf_later' }));
    const text = fast.encode([{ id: 1, custom_fields: [{ id: 360001, value: 'gold' }] }]) + fast.encode([{ id: 2, custom_fields: [{ id: 360001, value: 'x' }, { id: 5, value: [1] }] }]);
    assert.equal(text, 'id,cf_later,cf_tier,_extra\r\n1,,gold,\r\n2,,x,"{""cf_5"":[1]}"\r\n');
    assert.deepEqual(fast.state(), { field: 'custom_fields', columns: ['id', 'custom_fields.999', 'custom_fields.360001', '_extra'], names: { 'custom_fields.360001': 'cf_tier', 'custom_fields.999': 'cf_later', 'custom_fields.5': 'cf_5' } });
  });

  it('a resumed file keeps the names its checkpoint holds, whatever the field lists say now; a file begun without names keeps its ids', () => {
    const first = naming({ 360001: 'cf_product', 360002: 'cf_tier' });
    const whole = createFormatWriter('csv', null, null, first);
    const split = createFormatWriter('csv', null, null, first);
    const [a, b, c] = pages(700, [120, 200, 200]);
    let expected = whole.encode(a) + whole.encode(b);
    let got = split.encode(a);
    // Resumed with the field renamed and a new field listed: the names already given don't move.
    const renamed = naming({ 360001: 'cf_product_line', 360002: 'cf_tier', 77: 'cf_new' });
    const resumed = createFormatWriter('csv', got.length, JSON.parse(JSON.stringify(split.state())), renamed);
    got += resumed.encode(b);
    assert.equal(got, expected);
    expected += whole.encode(c);
    got += resumed.encode(c);
    assert.equal(got, expected);
    assert.deepEqual(resumed.state(), whole.state());
    const old = createFormatWriter('csv', 100, ['id', 'custom_fields.360001', '_extra'], renamed);
    assert.equal(old.encode([{ id: 1, custom_fields: [{ id: 360001, value: 'a' }, { id: 77, value: 'b' }] }]), '1,a,"{""custom_fields.77"":""b""}"\r\n');
    assert.deepEqual(old.state(), ['id', 'custom_fields.360001', '_extra']);
  });

  it('neutralises formulas, quotes what needs it and keeps numbers like -1 as they are, cell by cell', () => {
    const values: unknown[] = [...TEXTS, -1, 1.5, 1e21, 10n, true, false, null, undefined, [], [1, 2], { a: '"' }, new Date(0), [NaN], {}, [{}]];
    for (const v of values) assert.equal(csvCell(v), refCell(v), JSON.stringify(String(v)));
    assert.equal(csvCell('-1'), '-1');
    assert.equal(csvCell('=1+1'), "'=1+1");
    assert.equal(csvCell('a "b", c'), '"a ""b"", c"');
    assert.equal(csvCell(['x', 'y']), '"[""x"",""y""]"');
    assert.deepEqual([...flattenRecord({ a: { b: 1, c: {} }, custom_fields: [{ id: 7, value: 'v' }] }).entries()], [['a.b', 1], ['a.c', {}], ['custom_fields.7', 'v']]);
  });
});
