// Copy (the selected rows or the focused cell as TSV, whole records as JSON, through the host's
// clipboard) and export of the current view (the engine writes it; the host asks where).
import { CopyCommand, ExportViewRequest, GetRecordsRequest, type ExportFormat } from '../src/protocol/webviewMessages';
import { toJson, toTsv } from './clipboardText';
import { showError } from './header';
import { ipc } from './ipc';
import { ID, state, type Row } from './state';
import { currentView } from './view';

function selectedRows(): Row[] {
  if (!state.api) return [];
  return state.api.getSelectedNodes().filter((n) => n.data).sort((a, b) => (a.rowIndex ?? 0) - (b.rowIndex ?? 0)).map((n) => n.data!);
}

function focusedRow(): Row | null {
  const { api } = state;
  const cell = api?.getFocusedCell();
  if (!api || !cell) return null;
  return api.getDisplayedRowAtIndex(cell.rowIndex)?.data ?? null;
}

export async function copy(format: 'tsv' | 'json'): Promise<void> {
  const { api } = state;
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

export async function exportView(format: ExportFormat, target?: string): Promise<void> {
  const { api } = state;
  if (!api) return;
  const columns = api.getAllDisplayedColumns().map((c) => c.getColId());
  try {
    await ipc.request(ExportViewRequest, { format, view: currentView(), columns, target });
  } catch (err) {
    showError(err instanceof Error ? err.message : String(err));
  }
}
