// Time-based exports re-read the boundary second (end_time = max timestamp on full pages), so the
// same record version can arrive twice. We remember the versions of the newest second seen and drop
// repeats; the keys live in the checkpoint so a resumed run drops them too.
import type { EndpointForm } from '../zendesk';
import { textOf } from '../text';

/**
 * A record's timestamp in Unix seconds (numbers as-is, ISO strings parsed), or null — also for a
 * value before 1970, which no Zendesk record has and no checkpoint may hold.
 */
export function recordTimestamp(record: Record<string, unknown>, field: string | null): number | null {
  if (!field) return null;
  const value = record[field];
  let seconds: number | null = null;
  if (typeof value === 'number' && Number.isFinite(value)) seconds = Math.floor(value);
  else if (typeof value === 'string' && value !== '') {
    if (/^\d+$/.test(value)) seconds = Number(value);
    else {
      const ms = Date.parse(value);
      if (!Number.isNaN(ms)) seconds = Math.floor(ms / 1000);
    }
  }
  return seconds !== null && seconds >= 0 ? seconds : null;
}

/** The identity of one record version: `id` alone (events) or `id@timestamp` (tickets, users, orgs). */
export function dedupeKey(record: Record<string, unknown>, form: Pick<EndpointForm, 'timestampField' | 'dedupeOnIdOnly'>): string | null {
  const id = record.id;
  if (id === undefined || id === null) return null;
  if (form.dedupeOnIdOnly || !form.timestampField) return textOf(id);
  return `${textOf(id)}@${textOf(record[form.timestampField])}`;
}

export class BoundaryDedupe {
  private boundaryTime: number | null;
  private keys: Set<string>;

  /**
   * @param lastRecordTime the newest timestamp seen so far (from the checkpoint)
   * @param boundaryKeys the keys of the records seen at that timestamp (from the checkpoint)
   */
  constructor(
    private readonly form: Pick<EndpointForm, 'timestampField' | 'dedupeOnIdOnly'>,
    lastRecordTime: number | null,
    boundaryKeys: readonly string[],
  ) {
    this.boundaryTime = lastRecordTime;
    this.keys = new Set(boundaryKeys);
  }

  /** Drops versions already seen and remembers the newest second of what is kept. */
  filter(records: Record<string, unknown>[]): { kept: Record<string, unknown>[]; dropped: number } {
    const kept: Record<string, unknown>[] = [];
    let dropped = 0;
    for (const record of records) {
      const key = dedupeKey(record, this.form);
      if (key !== null && this.keys.has(key)) {
        dropped++;
        continue;
      }
      kept.push(record);
      const ts = recordTimestamp(record, this.form.timestampField);
      if (ts === null) {
        // Without a timestamp the record can't be placed in a second; remember it anyway so a
        // repeat within the next page is still caught.
        if (key !== null) this.keys.add(key);
        continue;
      }
      if (this.boundaryTime === null || ts > this.boundaryTime) {
        this.boundaryTime = ts;
        this.keys = new Set();
      }
      if (ts === this.boundaryTime && key !== null) this.keys.add(key);
    }
    return { kept, dropped };
  }

  /**
   * For pages that can't repeat anything (reached by a cursor, which never overlaps): keeps every
   * record and only moves the boundary second, computing keys for that second's records alone.
   */
  observe(records: Record<string, unknown>[]): { kept: Record<string, unknown>[]; dropped: number } {
    const stamps = new Array<number | null>(records.length);
    let newest = this.boundaryTime;
    for (let i = 0; i < records.length; i++) {
      const ts = recordTimestamp(records[i], this.form.timestampField);
      stamps[i] = ts;
      if (ts !== null && (newest === null || ts > newest)) newest = ts;
    }
    if (newest !== this.boundaryTime) {
      this.boundaryTime = newest;
      this.keys = new Set();
    }
    for (let i = 0; i < records.length; i++) {
      if (stamps[i] !== newest) continue;
      const key = dedupeKey(records[i], this.form);
      if (key !== null) this.keys.add(key);
    }
    return { kept: records, dropped: 0 };
  }

  /** Newest record timestamp seen (the InvalidCursor restart point). */
  lastRecordTime(): number | null {
    return this.boundaryTime;
  }

  boundaryKeys(): string[] {
    return [...this.keys];
  }
}
