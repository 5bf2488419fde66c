// The grid's requests in the engine server: windows of rows, columns, records and view exports of
// an output file, answered from a RowIndex per file. Indexes live here (not in the extension host
// or the webview) so a million-record file costs the UI nothing; a few recently used ones are kept.
import type { Connection } from 'vscode-languageserver/node';
import { isAbsolute, resolve } from 'node:path';
import { RowIndex, formatOfPath } from '../engine/rows';
import { CloseRows, ExportRows, GetRowColumns, GetRowRecords, GetRows, PARAMS_CHECKS } from '../protocol/customMessages';
import { ServerFailure } from './failures';

/** Indexes kept open at once (16 bytes a record each, plus the keys of up to three sort columns, about 25 bytes a record for a short text); the least recently used one is closed beyond this. */
const MAX_OPEN = 6;

function keyOf(path: string): string {
  return process.platform === 'win32' ? resolve(path).toLowerCase() : resolve(path);
}

export class RowIndexes {
  private readonly open = new Map<string, Promise<RowIndex>>();

  /** The index of `path` (opened on first use), most recently used last. */
  async get(path: string): Promise<RowIndex> {
    if (typeof path !== 'string' || !isAbsolute(path)) throw new ServerFailure('invalidQuery', `The grid needs an absolute file path, not "${String(path)}".`);
    if (!formatOfPath(path)) throw new ServerFailure('invalidQuery', `${path} is not a .jsonl, .json or .csv file.`);
    const key = keyOf(path);
    let index = this.open.get(key);
    if (index) {
      this.open.delete(key);
    } else {
      index = RowIndex.open(resolve(path));
      // A failed open must not stick: the next request tries again.
      index.catch(() => this.open.delete(key));
      while (this.open.size >= MAX_OPEN) this.evict(this.open.keys().next().value!);
    }
    this.open.set(key, index);
    return index;
  }

  close(path: string): void {
    this.evict(keyOf(path));
  }

  async closeAll(): Promise<void> {
    const all = [...this.open.values()];
    this.open.clear();
    await Promise.all(all.map((p) => p.then((i) => i.close()).catch(() => undefined)));
  }

  private evict(key: string): void {
    const index = this.open.get(key);
    this.open.delete(key);
    void index?.then((i) => i.close()).catch(() => undefined);
  }
}

/** Runs a request's work once its params passed the method's check (main.ts: InvalidParams otherwise), failures as ResponseError. */
export type Served = <P, T>(method: string, params: unknown, work: (p: P) => Promise<T>) => Promise<T>;

/**
 * Registers the grid's requests on the server connection. Registers no shutdown handler (the
 * connection keeps only one, main.ts's); the indexes hold only read handles, gone with the process.
 */
export function registerRowHandlers(connection: Connection, served: Served): RowIndexes {
  const indexes = new RowIndexes();
  connection.onRequest(GetRows.type, (params) =>
    served(GetRows.method, params, async (p: typeof params) =>
      (await indexes.get(p.path)).getRows({ start: p.start, count: Math.min(p.count, 5000), columns: p.columns, sort: p.sort, filters: p.filters, search: p.search })),
  );
  connection.onRequest(GetRowColumns.type, (params) =>
    served(GetRowColumns.method, params, async (p: typeof params) => {
      const index = await indexes.get(p.path);
      const info = await index.columns();
      return { ...info, format: index.format, fileRows: index.rows };
    }),
  );
  connection.onRequest(GetRowRecords.type, (params) =>
    served(GetRowRecords.method, params, async (p: typeof params) => ({ records: await (await indexes.get(p.path)).getRecords(p.ids.slice(0, 10_000)) })));
  connection.onRequest(ExportRows.type, (params) =>
    served(ExportRows.method, params, async (p: typeof params) => {
      if (!isAbsolute(p.target)) throw new ServerFailure('invalidQuery', `The export target must be an absolute path, not "${p.target}".`);
      if (keyOf(p.target) === keyOf(p.path)) throw new ServerFailure('invalidQuery', 'The export target is the file being shown; pick another file.');
      const { rows } = await (await indexes.get(p.path)).exportView(p.view, p.target, p.format, p.columns);
      return { rows, target: p.target };
    }),
  );
  // A notification has no answer to carry a refusal: a malformed one is dropped.
  connection.onNotification(CloseRows.type, (p) => {
    if (!PARAMS_CHECKS[CloseRows.method](p)) indexes.close(p.path);
  });
  return indexes;
}
