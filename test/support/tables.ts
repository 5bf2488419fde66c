// Reading table outputs back in tests with independent readers (DuckDB's own client for .duckdb and
// Parquet files), and the simulator's current state to compare them with.
import { DuckDBInstance } from '@duckdb/node-api';
import type { RunningSimulator } from '../../src/simulator/index';

/** Rows of a query against a DuckDB file (or Parquet files through an in-memory DuckDB), 64-bit integers as numbers. */
export async function duckRows(file: string | null, sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(file ?? ':memory:', file ? { access_mode: 'READ_ONLY' } : {});
  try {
    const c = await instance.connect();
    const reader = await c.runAndReadAll(sql);
    const names = reader.columnNames();
    const rows = reader.getRowsJS().map((row) => Object.fromEntries(row.map((v, i) => [names[i], typeof v === 'bigint' ? Number(v) : v])));
    c.closeSync();
    return rows;
  } finally {
    instance.closeSync();
  }
}

/** The newest version (Unix seconds) of every id a complete export from `startTime` holds, by the simulator's oracle. */
export function latestVersions(sim: RunningSimulator, endpointId: string, opts: { startTime?: number; supportTypeScope?: string } = {}): Map<number, number> {
  const latest = new Map<number, number>();
  for (const v of sim.expected(endpointId, { startTime: 0, ...opts })) latest.set(v.id, Math.max(latest.get(v.id) ?? 0, v.ts));
  return latest;
}
