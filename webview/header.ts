// The bar above the grid (the file's name, the record counts, the live line of the export writing
// the file) and the error line below the toolbar. The live line's "resumes in N s" countdown is
// re-rendered each second while the export waits, and only then.
import { currentView } from './view';
import { el, fmt } from './dom';
import { state, unit } from './state';

const titleEl = el('span', { class: 'title', id: 'title' });
const countEl = el('span', { class: 'count', id: 'row-count', 'aria-live': 'polite' });
const liveEl = el('span', { class: 'live', id: 'live-state', 'aria-live': 'polite' });
export const headerEl = el('header', { class: 'bar' }, titleEl, countEl, liveEl);
export const errorEl = el('div', { id: 'error', class: 'error', hidden: '', role: 'alert' });

export function renderTitle(label: string, path: string): void {
  titleEl.textContent = label;
  titleEl.title = path;
}

export function renderCounts(): void {
  const view = currentView();
  const narrowed = !!(view.search || Object.keys(view.filters ?? {}).length);
  // A SQL statement's count is known at its last page; until then, the rows read so far and a "+".
  const all = state.viewRows < 0 ? `${fmt(state.fileRows)}+` : fmt(state.fileRows);
  countEl.textContent = narrowed ? `${fmt(state.viewRows)} of ${all} ${unit()}` : `${all} ${unit()}`;
  countEl.title = state.indexing ? 'Still indexing the file: the count grows.' : '';
  countEl.classList.toggle('indexing', state.indexing);
}

export function renderLive(): void {
  const { live } = state;
  tickWhileWaiting(live?.status === 'waiting');
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

function tickWhileWaiting(waiting: boolean): void {
  if (waiting && state.countdown === undefined) {
    state.countdown = setInterval(renderLive, 1000);
  } else if (!waiting && state.countdown !== undefined) {
    clearInterval(state.countdown);
    state.countdown = undefined;
  }
}

export function showError(text: string | null): void {
  errorEl.hidden = !text;
  errorEl.textContent = text ?? '';
}
