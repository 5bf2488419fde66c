// The AG Grid table: its columns, and the datasource of its Infinite Row Model, which asks the
// host for windows of rows; sort, filter and search run in the engine server, so the page only
// ever holds the blocks in view. Cells use AG Grid's default renderer, which sets textContent.
import {
  AllCommunityModule,
  ModuleRegistry,
  createGrid,
  type ColDef,
  type ColumnState,
  type FilterModel,
  type IDatasource,
  type IGetRowsParams,
} from 'ag-grid-community';
import { GetRowsRequest, type GridPersistedState } from '../src/protocol/webviewMessages';
import { showDetail } from './detail';
import { el } from './dom';
import { renderCounts, showError } from './header';
import { ipc } from './ipc';
import { ID, sourceKind, state, type Row } from './state';
import { theme } from './theme';
import { pinnedSide, saveState, viewOf } from './view';

ModuleRegistry.registerModules([AllCommunityModule]);

/** The CSP nonce, handed to AG Grid so its theme's <style> elements are allowed (read while the script first runs). */
const styleNonce = document.currentScript?.nonce ?? '';

export const gridEl = el('div', { id: 'grid', class: 'grid' });

const datasource: IDatasource = {
  getRows(params: IGetRowsParams) {
    const columns = [...state.visible];
    const view = viewOf(params.sortModel, params.filterModel as FilterModel);
    const asked = performance.now();
    ipc.request(GetRowsRequest, { start: params.startRow, count: params.endRow - params.startRow, columns, ...view }).then(
      (r) => {
        // How long the last window took, webview to engine and back (read by the tests' measurements).
        gridEl.dataset.windowMs = String(Math.round(performance.now() - asked));
        const rows = r.rows.map((row) => {
          const data = Object.create(null) as Row;
          data[ID] = row.id;
          columns.forEach((c, i) => (data[c] = row.cells[i]));
          return data;
        });
        state.viewRows = r.total;
        state.fileRows = r.fileRows;
        state.indexing = !r.complete;
        renderCounts();
        // A big file is indexed in steps: ask again until the count is complete.
        if (state.indexing) setTimeout(refreshRows, 400);
        showError(null);
        params.successCallback(rows, r.total);
      },
      (err: Error) => {
        showError(err.message);
        params.failCallback();
      },
    );
  },
};

function colDef(column: string): ColDef<Row> {
  // A SQL statement's rows come in its own order: sort and filter are written in the SQL.
  const ordered = sourceKind() === 'sql';
  return {
    ...(ordered ? { sortable: false, filter: false, floatingFilter: false } : {}),
    colId: column,
    field: column,
    headerName: column,
    headerTooltip: column,
    width: state.widths[column] ?? (column === 'id' ? 110 : column === 'subject' || column === 'description' ? 320 : 160),
    pinned: state.pinned[column] ?? null,
    // Long values (descriptions, JSON) show their start; the detail pane has the whole record.
    valueFormatter: (p) => (p.value === null || p.value === undefined ? '' : String(p.value).replace(/\s+/g, ' ').slice(0, 500)),
    tooltipValueGetter: (p) => (p.value === null || p.value === undefined ? '' : String(p.value).slice(0, 2000)),
  };
}

/** (Re)creates the table for the file the host just named, with the saved columns, sort and filters. */
export function createTable(saved: GridPersistedState | undefined): void {
  state.api?.destroy();
  state.api = null;
  const sortState = saved?.view?.sort ?? [];
  const defs = state.visible.map((c) => {
    const d = colDef(c);
    const at = sortState.findIndex((s) => s.column === c);
    if (at >= 0) {
      d.sort = sortState[at].dir;
      d.sortIndex = at;
    }
    return d;
  });
  const api = createGrid<Row>(gridEl, {
    theme,
    styleNonce,
    rowModelType: 'infinite',
    datasource,
    cacheBlockSize: 100,
    // At most this many blocks (1,000 rows) live in the page, whatever the file's size.
    maxBlocksInCache: 10,
    infiniteInitialRowCount: 1,
    maxConcurrentDatasourceRequests: 2,
    blockLoadDebounceMillis: 50,
    suppressFieldDotNotation: true,
    columnDefs: defs,
    defaultColDef: {
      resizable: true,
      sortable: true,
      filter: 'agTextColumnFilter',
      floatingFilter: true,
      filterParams: { filterOptions: ['contains'], maxNumConditions: 1, debounceMs: 400, buttons: ['reset'] },
      minWidth: 60,
    },
    getRowId: (p) => String(p.data[ID]),
    rowSelection: { mode: 'multiRow', checkboxes: false, headerCheckbox: false, enableClickSelection: true },
    tooltipShowDelay: 600,
    onCellFocused: (e) => {
      if (e.rowIndex === null || e.rowIndex === undefined || e.rowPinned) return;
      const node = state.api?.getDisplayedRowAtIndex(e.rowIndex);
      if (node?.data) void showDetail(node.data[ID]);
    },
    onRowClicked: (e) => {
      if (e.data) void showDetail(e.data[ID]);
    },
    onColumnResized: (e) => {
      if (e.finished) saveState();
    },
    onColumnMoved: () => {
      state.visible = (state.api?.getAllDisplayedColumns() ?? []).map((c) => c.getColId());
      saveState();
    },
    onColumnPinned: () => saveState(),
    onSortChanged: () => saveState(),
    onFilterChanged: () => saveState(),
  });
  state.api = api;
  const filters = saved?.view?.filters ?? {};
  if (Object.keys(filters).length > 0) {
    const model: FilterModel = {};
    for (const [c, text] of Object.entries(filters)) model[c] = { filterType: 'text', type: 'contains', filter: text };
    api.setFilterModel(model);
  }
}

/** Shows `state.visible` with the widths, pinning and sort the table has now. */
export function applyColumns(): void {
  const { api } = state;
  if (!api) return;
  const current = new Map<string, ColumnState>(api.getColumnState().map((s) => [s.colId, s]));
  for (const [id, s] of current) {
    if (s.width) state.widths[id] = s.width;
    state.pinned[id] = pinnedSide(s.pinned);
  }
  const defs = state.visible.map((c) => {
    const d = colDef(c);
    const s = current.get(c);
    if (s?.sort) {
      d.sort = s.sort;
      d.sortIndex = s.sortIndex ?? null;
    }
    return d;
  });
  api.setGridOption('columnDefs', defs);
  api.purgeInfiniteCache();
  saveState();
}

/** Re-asks the loaded windows (new rows, new count) without dropping what is on screen. */
export function refreshRows(): void {
  if (!state.api) return;
  if (state.refreshing) {
    state.refreshAgain = true;
    return;
  }
  state.refreshing = true;
  state.api.refreshInfiniteCache();
  setTimeout(() => {
    state.refreshing = false;
    if (state.refreshAgain) {
      state.refreshAgain = false;
      refreshRows();
    }
  }, 300);
}

/** Shows the view from its first row (after the search changed). */
export function reloadRows(): void {
  state.api?.purgeInfiniteCache();
  state.api?.ensureIndexVisible(0);
}
