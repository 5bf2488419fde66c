// The current view (sort, filters, search) as the engine's row index takes it, and the page's
// saved state: kept by vscode.setState for reloads and sent to the host, which restores it.
import type { ColumnPinnedType, FilterModel, SortModelItem } from 'ag-grid-community';
import { StateChangedCommand, type GridPersistedState, type RowView } from '../src/protocol/webviewMessages';
import { ipc } from './ipc';
import { state } from './state';

export function viewOf(sortModel: SortModelItem[], filterModel: FilterModel): RowView {
  const filters: Record<string, string> = {};
  for (const [col, f] of Object.entries(filterModel)) {
    const text = (f as { filter?: unknown }).filter;
    if (typeof text === 'string' && text.trim()) filters[col] = text;
    else if (typeof text === 'number') filters[col] = String(text);
  }
  return { sort: sortModel.map((s) => ({ column: s.colId, dir: s.sort })), filters, search: state.search || undefined };
}

export function currentView(): RowView {
  const { api } = state;
  if (!api) return {};
  const sort = api.getColumnState().filter((c) => c.sort).sort((a, b) => (a.sortIndex ?? 0) - (b.sortIndex ?? 0)).map((c) => ({ colId: c.colId, sort: c.sort! }));
  return viewOf(sort, api.getFilterModel());
}

/** AG Grid's pinning as the saved state spells it (`true` is AG Grid's shorthand for left). */
export function pinnedSide(p: ColumnPinnedType): 'left' | 'right' | null {
  return p === 'left' || p === 'right' ? p : p === true ? 'left' : null;
}

function persisted(): GridPersistedState {
  const cols = state.api ? state.api.getColumnState().filter((c) => !c.hide) : [];
  return {
    path: state.init?.path ?? '',
    source: state.init?.source,
    columns: cols.length ? cols.map((c) => ({ id: c.colId, width: c.width ?? undefined, pinned: pinnedSide(c.pinned) })) : state.visible.map((id) => ({ id })),
    view: currentView(),
    detailOpen: state.detailOpen,
  };
}

export function saveState(): void {
  if (!state.init) return;
  const s = persisted();
  ipc.state = s;
  ipc.command(StateChangedCommand, s);
}
