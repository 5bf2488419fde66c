// The toolbar (search, columns, copy, export, record pane) and the page's keyboard shortcuts:
// Ctrl/Cmd+C copies TSV, +Shift copies JSON, Ctrl/Cmd+F searches, Escape closes the chooser.
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import { isChooserOpen, toggleChooser } from './chooser';
import { copy, exportView } from './copyExport';
import { toggleDetail } from './detail';
import { button, el } from './dom';
import { sourceKind, state } from './state';
import { gridEl, reloadRows } from './table';
import { saveState } from './view';

const searchEl = document.createElement('vscode-textfield');
searchEl.id = 'search';
searchEl.setAttribute('placeholder', 'Search records (Ctrl+F)');
searchEl.setAttribute('aria-label', 'Search records');

export const toolbarEl = el('div', { class: 'toolbar', role: 'toolbar' },
  searchEl,
  button('columns', 'Columns…', 'Choose, pin and add columns', () => toggleChooser()),
  button('copy-tsv', 'Copy TSV', 'Copy the selected rows (or the focused cell) as tab-separated values (Ctrl+C)', () => void copy('tsv')),
  button('copy-json', 'Copy JSON', 'Copy the selected rows (or the focused row) as JSON (Ctrl+Shift+C)', () => void copy('json')),
  button('export-csv', 'Export CSV', 'Export the current view (filter + sort) to CSV', () => void exportView('csv')),
  button('export-jsonl', 'Export JSONL', 'Export the current view (filter + sort) to JSON Lines', () => void exportView('jsonl')),
  button('export-json', 'Export JSON', 'Export the current view (filter + sort) to a JSON array', () => void exportView('json')),
  button('toggle-detail', 'Details', 'Show or hide the record pane', () => toggleDetail()),
);

searchEl.addEventListener('input', () => {
  clearTimeout(state.searchTimer);
  state.searchTimer = setTimeout(() => {
    state.search = searchEl.value.trim();
    reloadRows();
    saveState();
  }, 300);
});

/** Puts the saved search in the field (the view already applies it); a SQL statement's rows are searched in its SQL. */
export function showSearch(text: string): void {
  searchEl.value = text;
  searchEl.hidden = sourceKind() === 'sql';
}

/** Searches as if the person typed `text`. */
export function search(text: string): void {
  searchEl.value = text;
  searchEl.dispatchEvent(new Event('input'));
}

document.addEventListener('keydown', (e) => {
  const mod = e.ctrlKey || e.metaKey;
  const inInput = e.composedPath().some((t) => t instanceof HTMLElement && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'VSCODE-TEXTFIELD'));
  if (mod && e.key.toLowerCase() === 'f') {
    e.preventDefault();
    searchEl.focus();
  } else if (mod && e.key.toLowerCase() === 'c' && !inInput && gridEl.contains(document.activeElement)) {
    e.preventDefault();
    void copy(e.shiftKey ? 'json' : 'tsv');
  } else if (e.key === 'Escape' && isChooserOpen()) {
    toggleChooser(false);
  }
});
