// Clipboard text the grid produces: TSV that spreadsheets paste into cells, and pretty JSON.

/** One TSV cell: quoted (Excel style, quotes doubled) only when it holds a tab, newline or quote. */
export function tsvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint' ? String(value) : JSON.stringify(value) ?? '';
  return /[\t\r\n"]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Rows as TSV, with a header line when `header` is given. */
export function toTsv(header: string[] | null, rows: unknown[][]): string {
  const lines = rows.map((r) => r.map(tsvCell).join('\t'));
  if (header) lines.unshift(header.map(tsvCell).join('\t'));
  return lines.join('\n');
}

/** One record as an object, several as an array. */
export function toJson(records: unknown[]): string {
  return JSON.stringify(records.length === 1 ? records[0] : records, null, 2);
}
