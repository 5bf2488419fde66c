// The output formats: JSON Lines, a JSON array and CSV, each a FormatWriter; the sink owns files,
// lengths and fsync.
import type { OutputFormat } from '../../query';
import { CsvWriter, isCsvState, type CsvFieldNames } from './csv';
import type { FormatWriter } from './formatWriter';

/** One JSON document per line: appending is the whole story. */
export class JsonlWriter implements FormatWriter {
  readonly prologue = '';
  readonly epilogue = '';
  encode(records: Record<string, unknown>[]): string {
    let out = '';
    for (const r of records) out += `${JSON.stringify(r)}\n`;
    return out;
  }
  state(): null {
    return null;
  }
}

/** A JSON array written incrementally: '[' at creation, ',\n' between records, '\n]\n' after the last one so far. */
export class JsonArrayWriter implements FormatWriter {
  readonly prologue = '[';
  readonly epilogue = '\n]\n';
  constructor(private hasRecords: boolean) {}
  encode(records: Record<string, unknown>[]): string {
    let out = '';
    for (const r of records) {
      out += `${this.hasRecords ? ',\n' : '\n'}${JSON.stringify(r)}`;
      this.hasRecords = true;
    }
    return out;
  }
  state(): null {
    return null;
  }
}

export const FORMAT_EXTENSIONS: Record<OutputFormat, string> = { jsonl: 'jsonl', csv: 'csv', json: 'json' };

/**
 * `resumedLength` is the file's length after the resume truncation (null for a new file);
 * `resumedState` is what state() returned when that length was checkpointed; `csvFields` names a CSV's custom-field columns.
 */
export function createFormatWriter(format: OutputFormat, resumedLength: number | null, resumedState: unknown, csvFields: CsvFieldNames | null = null): FormatWriter {
  switch (format) {
    case 'jsonl':
      return new JsonlWriter();
    case 'json':
      return new JsonArrayWriter(resumedLength !== null && resumedLength > 1);
    case 'csv':
      return new CsvWriter(isCsvState(resumedState) ? resumedState : null, csvFields);
  }
}
