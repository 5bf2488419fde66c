// The results grid webview: AG Grid's Infinite Row Model asks the host for windows of rows; sort,
// filter and search happen in the engine server (the row index), so this page only ever holds the
// blocks in view. Every value is rendered as text (AG Grid's default renderer sets textContent;
// the detail pane uses textContent too): ticket subjects are user input.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import {
  AllCommunityModule,
  ModuleRegistry,
  createGrid,
  themeQuartz,
  type ColDef,
  type ColumnState,
  type FilterModel,
  type GridApi,
  type IDatasource,
  type IGetRowsParams,
  type SortModelItem,
} from 'ag-grid-community';
import {
  ActionNotification,
  CopyCommand,
  ExportViewRequest,
  GetColumnsRequest,
  GetRecordsRequest,
  GetRowsRequest,
  InitNotification,
  ReadyCommand,
  RowsChangedNotification,
  StateChangedCommand,
  type GridInit,
  type GridPersistedState,
  type LiveState,
  type RowColumnsResult,
  type RowView,
} from '../src/protocol/webviewMessages';
import { HostIpc } from './ipc';
import { toJson, toTsv } from './clipboardText';

ModuleRegistry.registerModules([AllCommunityModule]);

/** The CSP nonce, handed to AG Grid so its theme's <style> elements are allowed. */
const styleNonce = (document.currentScript as HTMLScriptElement | null)?.nonce ?? '';

// The grid follows the VS Code theme through its CSS variables (they change live with the theme).
const theme = themeQuartz.withParams({
  browserColorScheme: 'inherit',
  backgroundColor: 'var(--vscode-editor-background)',
  foregroundColor: 'var(--vscode-editor-foreground)',
  textColor: 'var(--vscode-editor-foreground)',
  headerBackgroundColor: 'var(--vscode-sideBarSectionHeader-background, var(--vscode-editor-background))',
  headerTextColor: 'var(--vscode-foreground)',
  borderColor: 'var(--vscode-editorGroup-border, var(--vscode-panel-border))',
  accentColor: 'var(--vscode-focusBorder)',
  rowHoverColor: 'var(--vscode-list-hoverBackground)',
  selectedRowBackgroundColor: 'var(--vscode-list-inactiveSelectionBackground)',
  oddRowBackgroundColor: 'var(--vscode-editor-background)',
  inputBackgroundColor: 'var(--vscode-input-background)',
  inputTextColor: 'var(--vscode-input-foreground)',
  inputBorder: { color: 'var(--vscode-input-border, transparent)' },
  inputFocusBorder: { color: 'var(--vscode-focusBorder)' },
  fontFamily: 'var(--vscode-font-family, sans-serif)',
  fontSize: 'var(--vscode-font-size, 13px)',
  dataFontSize: 'var(--vscode-editor-font-size, var(--vscode-font-size, 13px))',
  wrapperBorderRadius: 0,
  borderRadius: 2,
  spacing: 4,
  headerFontWeight: 600,
  chromeBackgroundColor: 'var(--vscode-editor-background)',
});

const ipc = new HostIpc();
const ID = '__row';
type Row = Record<string, unknown> & { [ID]: number };

let api: GridApi<Row> | null = null;
let init: GridInit | null = null;
let info: RowColumnsResult | null = null;
let visible: string[] = [];
const widths: Record<string, number | undefined> = {};
const pinned: Record<string, 'left' | 'right' | null | undefined> = {};
let search = '';
let fileRows = 0;
let viewRows = 0;
let indexing = false;
let live: LiveState | undefined;
let detailOpen = true;
let detailId: number | null = null;

// ---------------------------------------------------------------------------------------------
// Layout (built with DOM calls; no value ever goes through innerHTML)
// ---------------------------------------------------------------------------------------------

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

function button(id: string, label: string, title: string, onClick: () => void, secondary = true): HTMLElement {
  const b = document.createElement('vscode-button');
  b.id = id;
  b.textContent = label;
  b.title = title;
  if (secondary) b.setAttribute('secondary', '');
  b.addEventListener('click', onClick);
  return b;
}

const app = document.getElementById('app')!;
const titleEl = el('span', { class: 'title', id: 'title' });
const countEl = el('span', { class: 'count', id: 'row-count', 'aria-live': 'polite' });
const liveEl = el('span', { class: 'live', id: 'live-state', 'aria-live': 'polite' });
const searchEl = document.createElement('vscode-textfield');
searchEl.id = 'search';
searchEl.setAttribute('placeholder', 'Search records (Ctrl+F)');
searchEl.setAttribute('aria-label', 'Search records');
const gridEl = el('div', { id: 'grid', class: 'grid' });
const detailTitle = el('div', { class: 'detail-title', id: 'detail-title' }, 'Select a row to see its record.');
const detailPre = el('pre', { id: 'detail', class: 'detail-json', tabindex: '0' });
const detailEl = el('aside', { id: 'detail-pane', class: 'detail', 'aria-label': 'Selected record' }, detailTitle, detailPre);
const chooserList = el('div', { class: 'chooser-list', id: 'chooser-list', role: 'list' });
const chooserFilter = el('input', { type: 'text', id: 'chooser-filter', placeholder: 'Filter columns', 'aria-label': 'Filter columns' });
const chooserAdd = el('input', { type: 'text', id: 'chooser-add', placeholder: 'Add column: custom_fields.360001, via.channel…', 'aria-label': 'Add a column by name' });
const chooserEl = el('div', { id: 'chooser', class: 'chooser', hidden: '', role: 'dialog', 'aria-label': 'Columns' },
  el('div', { class: 'chooser-head' }, chooserFilter, button('chooser-close', 'Close', 'Close the column chooser (Escape)', () => toggleChooser(false))),
  chooserList,
  el('div', { class: 'chooser-foot' }, chooserAdd, button('chooser-add-button', 'Add', 'Add the column', () => addColumn(chooserAdd.value))),
);
const errorEl = el('div', { id: 'error', class: 'error', hidden: '', role: 'alert' });

app.append(
  el('header', { class: 'bar' }, titleEl, countEl, liveEl),
  el('div', { class: 'toolbar', role: 'toolbar' },
    searchEl,
    button('columns', 'Columns…', 'Choose, pin and add columns', () => toggleChooser()),
    button('copy-tsv', 'Copy TSV', 'Copy the selected rows (or the focused cell) as tab-separated values (Ctrl+C)', () => void copy('tsv')),
    button('copy-json', 'Copy JSON', 'Copy the selected rows (or the focused row) as JSON (Ctrl+Shift+C)', () => void copy('json')),
    button('export-csv', 'Export CSV', 'Export the current view (filter + sort) to CSV', () => void exportView('csv')),
    button('export-jsonl', 'Export JSONL', 'Export the current view (filter + sort) to JSON Lines', () => void exportView('jsonl')),
    button('export-json', 'Export JSON', 'Export the current view (filter + sort) to a JSON array', () => void exportView('json')),
    button('toggle-detail', 'Details', 'Show or hide the record pane', () => toggleDetail()),
  ),
  errorEl,
  el('div', { class: 'main' }, gridEl, detailEl),
  chooserEl,
);

// ---------------------------------------------------------------------------------------------
// Grid
// ---------------------------------------------------------------------------------------------

function viewOf(sortModel: SortModelItem[], filterModel: FilterModel): RowView {
  const filters: Record<string, string> = {};
  for (const [col, f] of Object.entries(filterModel)) {
    const text = (f as { filter?: unknown }).filter;
    if (typeof text === 'string' && text.trim()) filters[col] = text;
    else if (typeof text === 'number') filters[col] = String(text);
  }
  return { sort: sortModel.map((s) => ({ column: s.colId, dir: s.sort })), filters, search: search || undefined };
}

function currentView(): RowView {
  if (!api) return {};
  const sort = api.getColumnState().filter((c) => c.sort).sort((a, b) => (a.sortIndex ?? 0) - (b.sortIndex ?? 0)).map((c) => ({ colId: c.colId, sort: c.sort! }));
  return viewOf(sort, api.getFilterModel());
}

const datasource: IDatasource = {
  getRows(params: IGetRowsParams) {
    const columns = [...visible];
    const view = viewOf(params.sortModel, params.filterModel as FilterModel);
    ipc.request(GetRowsRequest, { start: params.startRow, count: params.endRow - params.startRow, columns, ...view }).then(
      (r) => {
        const rows = r.rows.map((row) => {
          const data = Object.create(null) as Row;
          data[ID] = row.id;
          columns.forEach((c, i) => (data[c] = row.cells[i]));
          return data;
        });
        viewRows = r.total;
        fileRows = r.fileRows;
        indexing = !r.complete;
        renderCounts();
        // A big file is indexed in steps: ask again until the count is complete.
        if (indexing) setTimeout(refreshRows, 400);
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
  return {
    colId: column,
    field: column,
    headerName: column,
    headerTooltip: column,
    width: widths[column] ?? (column === 'id' ? 110 : column === 'subject' || column === 'description' ? 320 : 160),
    pinned: pinned[column] ?? null,
    // Long values (descriptions, JSON) show their start; the detail pane has the whole record.
    valueFormatter: (p) => (p.value === null || p.value === undefined ? '' : String(p.value).replace(/\s+/g, ' ').slice(0, 500)),
    tooltipValueGetter: (p) => (p.value === null || p.value === undefined ? '' : String(p.value).slice(0, 2000)),
  };
}

function createTheGrid(state: GridPersistedState | undefined): void {
  const sortState = state?.view?.sort ?? [];
  const defs = visible.map((c) => {
    const d = colDef(c);
    const at = sortState.findIndex((s) => s.column === c);
    if (at >= 0) {
      d.sort = sortState[at].dir;
      d.sortIndex = at;
    }
    return d;
  });
  api = createGrid<Row>(gridEl, {
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
      const node = api?.getDisplayedRowAtIndex(e.rowIndex);
      if (node?.data) void showDetail(node.data[ID]);
    },
    onRowClicked: (e) => {
      if (e.data) void showDetail(e.data[ID]);
    },
    onColumnResized: (e) => {
      if (e.finished) saveState();
    },
    onColumnMoved: () => {
      visible = (api?.getAllDisplayedColumns() ?? []).map((c) => c.getColId());
      saveState();
    },
    onColumnPinned: () => saveState(),
    onSortChanged: () => saveState(),
    onFilterChanged: () => saveState(),
  });
  const filters = state?.view?.filters ?? {};
  if (Object.keys(filters).length > 0) {
    const model: FilterModel = {};
    for (const [c, text] of Object.entries(filters)) model[c] = { filterType: 'text', type: 'contains', filter: text };
    api.setFilterModel(model);
  }
}

function applyColumns(): void {
  if (!api) return;
  const state = new Map<string, ColumnState>(api.getColumnState().map((s) => [s.colId, s]));
  for (const [id, s] of state) {
    if (s.width) widths[id] = s.width;
    pinned[id] = (s.pinned as 'left' | 'right' | null) ?? null;
  }
  const defs = visible.map((c) => {
    const d = colDef(c);
    const s = state.get(c);
    if (s?.sort) {
      d.sort = s.sort;
      d.sortIndex = s.sortIndex ?? null;
    }
    return d;
  });
  api.setGridOption('columnDefs', defs);
  api.purgeInfiniteCache();
  saveState();
  renderChooser();
}

let refreshing = false;
let refreshAgain = false;
/** Re-asks the loaded windows (new rows, new count) without dropping what is on screen. */
function refreshRows(): void {
  if (!api) return;
  if (refreshing) {
    refreshAgain = true;
    return;
  }
  refreshing = true;
  api.refreshInfiniteCache();
  setTimeout(() => {
    refreshing = false;
    if (refreshAgain) {
      refreshAgain = false;
      refreshRows();
    }
  }, 300);
}

// ---------------------------------------------------------------------------------------------
// State, header, detail, chooser
// ---------------------------------------------------------------------------------------------

function persisted(): GridPersistedState {
  const cols = api ? api.getColumnState().filter((c) => !c.hide) : [];
  return {
    path: init?.path ?? '',
    columns: cols.length ? cols.map((c) => ({ id: c.colId, width: c.width, pinned: (c.pinned as 'left' | 'right' | null) ?? null })) : visible.map((id) => ({ id })),
    view: currentView(),
    detailOpen,
  };
}

function saveState(): void {
  if (!init) return;
  const s = persisted();
  ipc.state = s;
  ipc.command(StateChangedCommand, s);
}

const fmt = (n: number) => n.toLocaleString('en-US');

function renderCounts(): void {
  const view = currentView();
  const narrowed = !!(view.search || Object.keys(view.filters ?? {}).length);
  countEl.textContent = narrowed ? `${fmt(viewRows)} of ${fmt(fileRows)} records` : `${fmt(fileRows)} records`;
  countEl.title = indexing ? 'Still indexing the file: the count grows.' : '';
  countEl.classList.toggle('indexing', indexing);
}

function renderLive(): void {
  liveEl.className = `live ${live?.status ?? ''}`;
  if (!live) {
    liveEl.textContent = '';
    return;
  }
  const budget = live.rateLimit && live.rateLimit.total !== null ? ` · rate limit ${live.rateLimit.remaining ?? '?'}/${live.rateLimit.total}` : '';
  const name = live.queryName ? `${live.queryName}: ` : '';
  switch (live.status) {
    case 'running':
      liveEl.textContent = `● ${name}exporting, ${fmt(live.records)} records${budget}`;
      break;
    case 'waiting': {
      const secs = live.waitingUntil ? Math.max(0, Math.ceil((live.waitingUntil - Date.now()) / 1000)) : 0;
      liveEl.textContent = `⏸ ${name}waiting for the rate limit, resumes in ${secs} s${budget}`;
      break;
    }
    case 'done':
      liveEl.textContent = `✓ ${name}export finished, ${fmt(live.records)} records`;
      break;
    case 'cancelled':
      liveEl.textContent = `■ ${name}export cancelled at ${fmt(live.records)} records`;
      break;
    case 'failed':
      liveEl.textContent = `✗ ${name}export failed: ${live.error ?? 'see the log'}`;
      break;
  }
}
setInterval(() => {
  if (live?.status === 'waiting') renderLive();
}, 1000);

function showError(text: string | null): void {
  errorEl.hidden = !text;
  errorEl.textContent = text ?? '';
}

let detailShown: number | null = null;
async function showDetail(id: number, force = false): Promise<void> {
  // Focus and click both report the same row: ask once.
  if (id === detailId && id === detailShown && !force) return;
  detailId = id;
  if (!detailOpen) return;
  detailShown = id;
  detailTitle.textContent = `Record ${fmt(id + 1)} of the file`;
  try {
    const { records } = await ipc.request(GetRecordsRequest, { ids: [id] });
    if (detailId !== id) return;
    detailPre.textContent = records[0] ? JSON.stringify(records[0], null, 2) : '';
  } catch (err) {
    detailPre.textContent = (err as Error).message;
  }
}

function toggleDetail(open = !detailOpen): void {
  detailOpen = open;
  detailEl.hidden = !open;
  if (open && detailId !== null) void showDetail(detailId, true);
  saveState();
}

function toggleChooser(open = chooserEl.hidden): void {
  chooserEl.hidden = !open;
  if (open) {
    renderChooser();
    chooserFilter.focus();
  }
}

function renderChooser(): void {
  const all = [...visible, ...(info?.columns ?? []).filter((c) => !visible.includes(c))];
  const needle = chooserFilter.value.trim().toLowerCase();
  const state = new Map((api?.getColumnState() ?? []).map((s) => [s.colId, s]));
  chooserList.replaceChildren(
    ...all.filter((c) => !needle || c.toLowerCase().includes(needle)).slice(0, 400).map((c) => {
      const box = document.createElement('vscode-checkbox') as HTMLElement & { checked: boolean };
      box.setAttribute('label', c);
      box.dataset.column = c;
      box.checked = visible.includes(c);
      box.addEventListener('change', () => {
        visible = box.checked ? [...visible.filter((v) => v !== c), c] : visible.filter((v) => v !== c);
        applyColumns();
      });
      const isPinned = state.get(c)?.pinned === 'left';
      const pin = button(`pin-${c}`, isPinned ? 'Unpin' : 'Pin', isPinned ? `Unfreeze ${c}` : `Freeze ${c} at the left`, () => {
        if (!visible.includes(c)) visible = [...visible, c];
        pinned[c] = isPinned ? null : 'left';
        api?.applyColumnState({ state: [{ colId: c, pinned: pinned[c] }] });
        applyColumns();
      });
      pin.dataset.pin = c;
      return el('div', { class: 'chooser-row', role: 'listitem' }, box, pin);
    }),
  );
}
chooserFilter.addEventListener('input', () => renderChooser());
chooserAdd.addEventListener('keydown', (e) => {
  if (e.key === 'Enter') addColumn(chooserAdd.value);
});

function addColumn(name: string): void {
  const c = name.trim();
  if (!c) return;
  if (!visible.includes(c)) visible = [...visible, c];
  chooserAdd.value = '';
  applyColumns();
}

// ---------------------------------------------------------------------------------------------
// Copy and export
// ---------------------------------------------------------------------------------------------

function selectedRows(): Row[] {
  if (!api) return [];
  return api.getSelectedNodes().filter((n) => n.data).sort((a, b) => (a.rowIndex ?? 0) - (b.rowIndex ?? 0)).map((n) => n.data!);
}

function focusedRow(): Row | null {
  const cell = api?.getFocusedCell();
  if (!api || !cell) return null;
  return api.getDisplayedRowAtIndex(cell.rowIndex)?.data ?? null;
}

async function copy(format: 'tsv' | 'json'): Promise<void> {
  if (!api) return;
  const rows = selectedRows();
  const cell = api.getFocusedCell();
  const focus = focusedRow();
  const columns = api.getAllDisplayedColumns().map((c) => c.getColId());
  if (format === 'tsv') {
    if (rows.length > 0) {
      ipc.command(CopyCommand, { text: toTsv(columns, rows.map((r) => columns.map((c) => r[c]))), what: `${rows.length} row${rows.length === 1 ? '' : 's'} as TSV` });
    } else if (focus && cell) {
      ipc.command(CopyCommand, { text: toTsv(null, [[focus[cell.column.getColId()]]]), what: 'the cell' });
    }
    return;
  }
  const ids = (rows.length > 0 ? rows : focus ? [focus] : []).map((r) => r[ID]);
  if (ids.length === 0) return;
  const { records } = await ipc.request(GetRecordsRequest, { ids });
  ipc.command(CopyCommand, { text: toJson(records), what: `${records.length} record${records.length === 1 ? '' : 's'} as JSON` });
}

async function exportView(format: 'csv' | 'jsonl' | 'json', target?: string): Promise<void> {
  if (!api) return;
  const columns = api.getAllDisplayedColumns().map((c) => c.getColId());
  try {
    await ipc.request(ExportViewRequest, { format, view: currentView(), columns, target });
  } catch (err) {
    showError((err as Error).message);
  }
}

// Keyboard: Ctrl/Cmd+C copies TSV, +Shift copies JSON, Ctrl/Cmd+F searches, Escape closes popovers.
document.addEventListener('keydown', (e) => {
  const mod = e.ctrlKey || e.metaKey;
  const inInput = e.composedPath().some((t) => t instanceof HTMLElement && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'VSCODE-TEXTFIELD'));
  if (mod && e.key.toLowerCase() === 'f') {
    e.preventDefault();
    searchEl.focus();
  } else if (mod && e.key.toLowerCase() === 'c' && !inInput && gridEl.contains(document.activeElement)) {
    e.preventDefault();
    void copy(e.shiftKey ? 'json' : 'tsv');
  } else if (e.key === 'Escape' && !chooserEl.hidden) {
    toggleChooser(false);
  }
});

let searchTimer: ReturnType<typeof setTimeout> | undefined;
searchEl.addEventListener('input', () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => {
    search = ((searchEl as unknown as { value: string }).value ?? '').trim();
    api?.purgeInfiniteCache();
    api?.ensureIndexVisible(0);
    saveState();
  }, 300);
});

// ---------------------------------------------------------------------------------------------
// Host messages
// ---------------------------------------------------------------------------------------------

ipc.on(InitNotification, (p) => {
  init = p;
  info = p.info;
  live = p.live;
  const state = p.state;
  titleEl.textContent = p.label;
  titleEl.title = p.path;
  fileRows = info?.fileRows ?? 0;
  if (p.error) showError(p.error);
  const saved = state?.columns?.filter((c) => c.id) ?? [];
  visible = saved.length ? saved.map((c) => c.id) : info?.defaults.length ? info.defaults : ['id'];
  for (const c of saved) {
    widths[c.id] = c.width;
    pinned[c.id] = c.pinned ?? null;
  }
  search = state?.view?.search ?? '';
  (searchEl as unknown as { value: string }).value = search;
  detailOpen = state?.detailOpen ?? true;
  detailEl.hidden = !detailOpen;
  renderCounts();
  renderLive();
  if (api) {
    api.destroy();
    api = null;
  }
  createTheGrid(state);
  saveState();
});

ipc.on(RowsChangedNotification, (p) => {
  if (p.live) {
    live = p.live;
    renderLive();
  }
  if (p.fileRows !== undefined) {
    if (!info || info.columns.length === 0) {
      // The file had no records when the grid opened: learn its columns now.
      void ipc.request(GetColumnsRequest, undefined).then((i) => {
        info = i;
        if (visible.length <= 1 && i.defaults.length) {
          visible = i.defaults;
          applyColumns();
        }
      }, () => undefined);
    }
    refreshRows();
  }
});

ipc.on(ActionNotification, (p) => {
  switch (p.action) {
    case 'copy':
      void copy(p.format);
      break;
    case 'export':
      void exportView(p.format, p.target);
      break;
    case 'search':
      (searchEl as unknown as { value: string }).value = p.text;
      searchEl.dispatchEvent(new Event('input'));
      break;
    case 'toggleDetail':
      toggleDetail();
      break;
  }
});

const saved = ipc.state as GridPersistedState | undefined;
ipc.command(ReadyCommand, { state: saved && typeof saved.path === 'string' ? saved : undefined });
