// The column chooser: show, hide, pin (freeze) and add columns, nested fields and custom fields
// included. Every change of the shown columns goes through here, so the list stays in step.
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import { button, el } from './dom';
import { state } from './state';
import { applyColumns } from './table';

const chooserList = el('div', { class: 'chooser-list', id: 'chooser-list', role: 'list' });
const chooserFilter = el('input', { type: 'text', id: 'chooser-filter', placeholder: 'Filter columns', 'aria-label': 'Filter columns' });
const chooserAdd = el('input', { type: 'text', id: 'chooser-add', placeholder: 'Add column: custom_fields.360001, via.channel…', 'aria-label': 'Add a column by name' });
export const chooserEl = el('div', { id: 'chooser', class: 'chooser', hidden: '', role: 'dialog', 'aria-label': 'Columns' },
  el('div', { class: 'chooser-head' }, chooserFilter, button('chooser-close', 'Close', 'Close the column chooser (Escape)', () => toggleChooser(false))),
  chooserList,
  el('div', { class: 'chooser-foot' }, chooserAdd, button('chooser-add-button', 'Add', 'Add the column', () => addColumn(chooserAdd.value))),
);
chooserFilter.addEventListener('input', () => renderChooser());
chooserAdd.addEventListener('keydown', (e) => {
  if (e.key === 'Enter') addColumn(chooserAdd.value);
});

export function isChooserOpen(): boolean {
  return !chooserEl.hidden;
}

export function toggleChooser(open = chooserEl.hidden): void {
  chooserEl.hidden = !open;
  if (open) {
    renderChooser();
    chooserFilter.focus();
  }
}

/** Shows these columns, in this order. */
export function showColumns(columns: string[]): void {
  state.visible = columns;
  apply();
}

function apply(): void {
  applyColumns();
  renderChooser();
}

function renderChooser(): void {
  const { visible } = state;
  const all = [...visible, ...(state.info?.columns ?? []).filter((c) => !visible.includes(c))];
  const needle = chooserFilter.value.trim().toLowerCase();
  const columnState = new Map((state.api?.getColumnState() ?? []).map((s) => [s.colId, s]));
  chooserList.replaceChildren(
    ...all.filter((c) => !needle || c.toLowerCase().includes(needle)).slice(0, 400).map((c) => {
      const box = document.createElement('vscode-checkbox');
      box.setAttribute('label', c);
      box.dataset.column = c;
      box.checked = visible.includes(c);
      box.addEventListener('change', () => {
        showColumns(box.checked ? [...state.visible.filter((v) => v !== c), c] : state.visible.filter((v) => v !== c));
      });
      const isPinned = columnState.get(c)?.pinned === 'left';
      const pin = button(`pin-${c}`, isPinned ? 'Unpin' : 'Pin', isPinned ? `Unfreeze ${c}` : `Freeze ${c} at the left`, () => {
        if (!state.visible.includes(c)) state.visible = [...state.visible, c];
        state.pinned[c] = isPinned ? null : 'left';
        state.api?.applyColumnState({ state: [{ colId: c, pinned: state.pinned[c] }] });
        apply();
      });
      pin.dataset.pin = c;
      return el('div', { class: 'chooser-row', role: 'listitem' }, box, pin);
    }),
  );
}

function addColumn(name: string): void {
  const c = name.trim();
  if (!c) return;
  if (!state.visible.includes(c)) state.visible = [...state.visible, c];
  chooserAdd.value = '';
  apply();
}
