// The record pane beside the grid: the whole record of the focused or clicked row, as formatted
// JSON in textContent, asked of the host once per row.
import { GetRecordsRequest } from '../src/protocol/webviewMessages';
import { el, fmt } from './dom';
import { ipc } from './ipc';
import { sourceKind, state } from './state';
import { saveState } from './view';

const detailTitle = el('div', { class: 'detail-title', id: 'detail-title' }, 'Select a row to see its record.');
const detailPre = el('pre', { id: 'detail', class: 'detail-json', tabindex: '0' });
export const detailEl = el('aside', { id: 'detail-pane', class: 'detail', 'aria-label': 'Selected record' }, detailTitle, detailPre);

export async function showDetail(id: number, force = false): Promise<void> {
  // Focus and click both report the same row: ask once.
  if (id === state.detailId && id === state.detailShown && !force) return;
  state.detailId = id;
  if (!state.detailOpen) return;
  state.detailShown = id;
  detailTitle.textContent = sourceKind() === 'file' ? `Record ${fmt(id + 1)} of the file` : `Row ${fmt(id + 1)} of the view`;
  try {
    const { records } = await ipc.request(GetRecordsRequest, { ids: [id] });
    if (state.detailId !== id) return;
    detailPre.textContent = records[0] ? JSON.stringify(records[0], null, 2) : '';
  } catch (err) {
    detailPre.textContent = err instanceof Error ? err.message : String(err);
  }
}

/** Shows or hides the pane (as the saved state says at init, without saving it again). */
export function setDetailOpen(open: boolean): void {
  state.detailOpen = open;
  detailEl.hidden = !open;
}

export function toggleDetail(open = !state.detailOpen): void {
  setDetailOpen(open);
  if (open && state.detailId !== null) void showDetail(state.detailId, true);
  saveState();
}
