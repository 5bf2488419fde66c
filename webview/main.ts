// The results grid webview, assembled: the header, toolbar, table, record pane and column chooser
// (each in its module, all state in state.ts), wired to the host's messages. AG Grid's Infinite
// Row Model asks the host for windows of rows; sort, filter and search happen in the engine server
// (the row index), so this page only ever holds the blocks in view. Every value is rendered as
// text (AG Grid's default renderer sets textContent; so do the header and the record pane): ticket
// subjects are user input.
import {
  ActionNotification,
  GetColumnsRequest,
  InitNotification,
  ReadyCommand,
  RowsChangedNotification,
  isGridPersistedState,
} from '../src/protocol/webviewMessages';
import { chooserEl, showColumns } from './chooser';
import { copy, exportView } from './copyExport';
import { detailEl, setDetailOpen, toggleDetail } from './detail';
import { el } from './dom';
import { errorEl, headerEl, renderCounts, renderLive, renderTitle, showError } from './header';
import { ipc } from './ipc';
import { state } from './state';
import { createTable, gridEl, refreshRows } from './table';
import { search, showSearch, toolbarEl } from './toolbar';
import { saveState } from './view';

document.getElementById('app')!.append(headerEl, toolbarEl, errorEl, el('div', { class: 'main' }, gridEl, detailEl), chooserEl);

ipc.on(InitNotification, (p) => {
  const saved = p.state;
  state.init = p;
  state.info = p.info;
  state.live = p.live;
  state.fileRows = p.info?.fileRows ?? 0;
  renderTitle(p.label, p.path);
  if (p.error) showError(p.error);
  const columns = saved?.columns?.filter((c) => c.id) ?? [];
  state.visible = columns.length ? columns.map((c) => c.id) : p.info?.defaults.length ? p.info.defaults : ['id'];
  for (const c of columns) {
    state.widths[c.id] = c.width;
    state.pinned[c.id] = c.pinned ?? null;
  }
  state.search = saved?.view?.search ?? '';
  showSearch(state.search);
  setDetailOpen(saved?.detailOpen ?? true);
  renderCounts();
  renderLive();
  createTable(saved);
  saveState();
});

ipc.on(RowsChangedNotification, (p) => {
  if (p.live) {
    state.live = p.live;
    renderLive();
  }
  if (p.fileRows !== undefined) {
    if (!state.info || state.info.columns.length === 0) {
      // The file had no records when the grid opened: learn its columns now.
      void ipc.request(GetColumnsRequest, undefined).then((info) => {
        state.info = info;
        if (state.visible.length <= 1 && info.defaults.length) showColumns(info.defaults);
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
      search(p.text);
      break;
    case 'toggleDetail':
      toggleDetail();
      break;
  }
});

const saved = ipc.state;
ipc.command(ReadyCommand, { state: isGridPersistedState(saved) ? saved : undefined });
