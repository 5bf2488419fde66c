// Open row indexes of output files, by handle, for the grid. Each handle owns its RowIndex because
// an index caches one view (sort + filters); two grids on one file would otherwise evict each other.
import { randomUUID } from 'node:crypto';
import { RowIndex } from '../engine/rowIndex';
import type { ExportViewParams, GetRowsRequestParams, OpenRowsResult } from '../protocol/customMessages';
import type { ColumnsInfo, RowsResult } from '../engine/rowIndex';
import { ServerFailure } from './sessions';

/** Open handles kept at once; the least recently used is closed beyond this (a client that forgot to close). */
const MAX_OPEN = 16;

export class RowHandles {
  private readonly open = new Map<string, RowIndex>();

  async openFile(file: string): Promise<OpenRowsResult> {
    let index: RowIndex;
    try {
      index = await RowIndex.open(file);
    } catch (err) {
      throw new ServerFailure('io', `Can't show ${file}: ${(err as Error).message}`);
    }
    const handle = randomUUID();
    this.open.set(handle, index);
    while (this.open.size > MAX_OPEN) {
      const [oldest, old] = this.open.entries().next().value as [string, RowIndex];
      this.open.delete(oldest);
      void old.close();
    }
    return { handle, rows: index.rows, columns: await index.columns() };
  }

  getRows(p: GetRowsRequestParams): Promise<RowsResult> {
    const { handle, ...params } = p;
    return this.get(handle).getRows(params);
  }

  async getRecords(handle: string, ids: number[]): Promise<{ records: Record<string, unknown>[] }> {
    return { records: await this.get(handle).getRecords(ids) };
  }

  columns(handle: string): Promise<ColumnsInfo> {
    return this.get(handle).columns();
  }

  exportView(p: ExportViewParams): Promise<{ rows: number }> {
    return this.get(p.handle).exportView(p.view, p.target, p.format, p.columns);
  }

  async close(handle: string): Promise<boolean> {
    const index = this.open.get(handle);
    if (!index) return false;
    this.open.delete(handle);
    await index.close();
    return true;
  }

  async closeAll(): Promise<void> {
    const all = [...this.open.values()];
    this.open.clear();
    await Promise.allSettled(all.map((i) => i.close()));
  }

  private get(handle: string): RowIndex {
    const index = this.open.get(handle);
    if (!index) throw new ServerFailure('unknownHandle', 'That results view was closed; open the results again.');
    // Most recently used last, so the eviction above drops the stalest.
    this.open.delete(handle);
    this.open.set(handle, index);
    return index;
  }
}
