// The grid page's state, all of it in one object: what the host said (the file, its columns, the
// live export), what the person chose (columns, widths, pinning, search, the record pane), the
// counts last read, and the page's timers. Modules read and change it here; nothing else holds state.
import type { GridApi } from 'ag-grid-community';
import type { GridInit, LiveState, RowColumnsResult } from '../src/protocol/webviewMessages';

/** The field holding a row's position in the file (its id in every request). */
export const ID = '__row';
export type Row = Record<string, unknown> & { [ID]: number };

type Timer = ReturnType<typeof setTimeout>;

export interface PageState {
  /** The AG Grid instance, once the host's init arrived. */
  api: GridApi<Row> | null;
  init: GridInit | null;
  /** The file's columns as the host last read them. */
  info: RowColumnsResult | null;
  /** Shown columns, in order. */
  visible: string[];
  widths: Record<string, number | undefined>;
  pinned: Record<string, 'left' | 'right' | null | undefined>;
  search: string;
  /** Records in the file and in the view (filters, search), and whether the file is still being indexed. */
  fileRows: number;
  viewRows: number;
  indexing: boolean;
  /** The export writing the file, if any. */
  live: LiveState | undefined;
  detailOpen: boolean;
  /** The row the record pane is for, and the one it last asked the host for. */
  detailId: number | null;
  detailShown: number | null;
  /** Row refreshes are spaced out: one runs, at most one more waits. */
  refreshing: boolean;
  refreshAgain: boolean;
  searchTimer: Timer | undefined;
  /** Re-renders the "resumes in N s" countdown; set only while the export waits. */
  countdown: ReturnType<typeof setInterval> | undefined;
}

/** What the grid shows: a file of records, a database table, or a SQL statement's rows. */
export function sourceKind(): 'file' | 'table' | 'sql' {
  return state.init?.source?.kind ?? 'file';
}

/** A file holds records; a table or a statement's result, rows. */
export function unit(): string {
  return sourceKind() === 'file' ? 'records' : 'rows';
}

export const state: PageState = {
  api: null,
  init: null,
  info: null,
  visible: [],
  widths: {},
  pinned: {},
  search: '',
  fileRows: 0,
  viewRows: 0,
  indexing: false,
  live: undefined,
  detailOpen: true,
  detailId: null,
  detailShown: null,
  refreshing: false,
  refreshAgain: false,
  searchTimer: undefined,
  countdown: undefined,
};
