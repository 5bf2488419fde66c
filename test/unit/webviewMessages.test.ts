// The grid's webview IPC guards (src/protocol/webviewMessages.ts): `is()` matches a message to its
// descriptor, and for messages from the webview (untrusted input to the extension host) also checks
// the params' shape, so the host never acts on a message it cannot read.
import assert from 'node:assert/strict';
import {
  ActionNotification,
  CopyCommand,
  ExportViewRequest,
  GetColumnsRequest,
  GetRecordsRequest,
  GetRowsRequest,
  InitNotification,
  ReadyCommand,
  StateChangedCommand,
  isGridPersistedState,
  isIpcMessage,
  type GridPersistedState,
  type IpcMessage,
} from '../../src/protocol/webviewMessages';

/** A webview → host descriptor, whatever its params. */
type FromWebview = { readonly method: string; is(m: IpcMessage): boolean };

function msg(method: string, params: unknown, completionId?: string): IpcMessage {
  return { id: 'w1', scope: 'grid', method, params, ...(completionId ? { completionId } : {}) };
}

/** What postMessage delivers: a structured copy (JSON here: undefined members disappear). */
function delivered(m: IpcMessage): IpcMessage {
  return JSON.parse(JSON.stringify(m)) as IpcMessage;
}

/** A state the webview saves after a person resized, pinned, sorted, filtered and searched. */
const savedState: GridPersistedState = {
  path: '/work/out/tickets.jsonl',
  columns: [{ id: 'id', width: 110, pinned: 'left' }, { id: 'subject', width: 320, pinned: null }, { id: 'via.channel' }],
  view: { sort: [{ column: 'subject', dir: 'asc' }, { column: 'id', dir: 'desc' }], filters: { status: 'solved' }, search: 'refund' },
  detailOpen: false,
};

describe('webview messages: is() matches the method', () => {
  it('accepts its own method and no other', () => {
    const rows = msg('grid/rows', { start: 0, count: 100, columns: ['id'] });
    assert.equal(GetRowsRequest.is(rows), true);
    assert.equal(GetColumnsRequest.is(rows), false);
    assert.equal(GetRecordsRequest.is(rows), false);
    assert.equal(GetRowsRequest.is(msg('grid/rows/response', { start: 0, count: 100, columns: ['id'] })), false);
  });

  it('takes host → webview notifications on their method alone (the host is trusted)', () => {
    assert.equal(ActionNotification.is(msg('grid/action', { action: 'toggleDetail' })), true);
    assert.equal(InitNotification.is(msg('grid/action', { action: 'toggleDetail' })), false);
  });

  it('recognises a request\'s response by its method and the ok/error shape', () => {
    assert.equal(GetRowsRequest.isResponse(msg('grid/rows/response', { ok: true, value: { rows: [], total: 0, fileRows: 0, complete: true } }, 'w1')), true);
    assert.equal(ExportViewRequest.isResponse(delivered(msg('grid/export/response', { ok: true, value: null }, 'w2'))), true);
    assert.equal(GetRowsRequest.isResponse(msg('grid/rows/response', { ok: false, error: 'The file is gone.' }, 'w1')), true);
    assert.equal(GetRowsRequest.isResponse(msg('grid/columns/response', { ok: true, value: {} }, 'w1')), false);
    assert.equal(GetRowsRequest.isResponse(msg('grid/rows/response', { ok: false }, 'w1')), false);
    assert.equal(GetRowsRequest.isResponse(msg('grid/rows/response', 'ok', 'w1')), false);
  });
});

describe('webview messages: the params of every webview → host message are checked', () => {
  // What the webview sends, each as it arrives after postMessage.
  const valid: [string, FromWebview, unknown][] = [
    ['ready without a saved state', ReadyCommand, {}],
    ['ready with a saved state', ReadyCommand, { state: savedState }],
    ['ready with an undefined state', ReadyCommand, { state: undefined }],
    ['a window of rows', GetRowsRequest, { start: 200, count: 100, columns: ['id', 'subject', 'via.channel'], sort: [{ column: 'subject', dir: 'asc' }], filters: { status: 'solved' }, search: undefined }],
    ['a window without a view', GetRowsRequest, { start: 0, count: 100, columns: [] }],
    ['columns (no params)', GetColumnsRequest, undefined],
    ['records', GetRecordsRequest, { ids: [0, 7, 2999] }],
    ['copy', CopyCommand, { text: 'id\tsubject\n1\t<img src=x onerror=alert(1)>', what: '1 row as TSV' }],
    ['export with a target', ExportViewRequest, { format: 'jsonl', view: savedState.view, columns: ['id'], target: '/work/out/view.jsonl' }],
    ['export through the save dialog', ExportViewRequest, { format: 'csv', view: {}, columns: ['id', 'subject'], target: undefined }],
    ['state changed', StateChangedCommand, savedState],
    ['state changed, columns only', StateChangedCommand, { path: '', columns: [{ id: 'id' }], view: {}, detailOpen: true }],
  ];
  for (const [what, type, params] of valid) {
    it(`accepts ${what}`, () => {
      assert.equal(type.is(msg(type.method, params)), true);
      assert.equal(type.is(delivered(msg(type.method, params))), true, 'after a structured copy');
    });
  }

  const malformed: [string, FromWebview, unknown][] = [
    ['ready with a state without a path', ReadyCommand, { state: { columns: [] } }],
    ['ready as a string', ReadyCommand, 'ready'],
    ['rows without params', GetRowsRequest, undefined],
    ['rows with a negative start', GetRowsRequest, { start: -1, count: 100, columns: ['id'] }],
    ['rows with a fractional count', GetRowsRequest, { start: 0, count: 1.5, columns: ['id'] }],
    ['rows with a start given as text', GetRowsRequest, { start: '0', count: 100, columns: ['id'] }],
    ['rows with a non-text column', GetRowsRequest, { start: 0, count: 100, columns: ['id', 3] }],
    ['rows sorted in an unknown direction', GetRowsRequest, { start: 0, count: 100, columns: ['id'], sort: [{ column: 'id', dir: 'up' }] }],
    ['rows with a numeric filter', GetRowsRequest, { start: 0, count: 100, columns: ['id'], filters: { id: 5 } }],
    ['rows with a search that is not text', GetRowsRequest, { start: 0, count: 100, columns: ['id'], search: ['a'] }],
    ['records with a text id', GetRecordsRequest, { ids: ['1'] }],
    ['records with an id list that is not a list', GetRecordsRequest, { ids: 1 }],
    ['copy without text', CopyCommand, { what: 'the cell' }],
    ['copy of an object', CopyCommand, { text: { a: 1 }, what: 'the cell' }],
    ['export in an unknown format', ExportViewRequest, { format: 'xml', view: {}, columns: [] }],
    ['export without a view', ExportViewRequest, { format: 'csv', columns: [] }],
    ['export to a numeric target', ExportViewRequest, { format: 'csv', view: {}, columns: [], target: 1 }],
    ['state without a path', StateChangedCommand, { columns: [{ id: 'id' }] }],
    ['state with a column pinned to the top', StateChangedCommand, { path: '/a.jsonl', columns: [{ id: 'id', pinned: 'top' }] }],
    ['state with a text width', StateChangedCommand, { path: '/a.jsonl', columns: [{ id: 'id', width: '100px' }] }],
    ['state with detailOpen as text', StateChangedCommand, { path: '/a.jsonl', detailOpen: 'yes' }],
    ['state as an array', StateChangedCommand, [savedState]],
    ['state as null', StateChangedCommand, null],
  ];
  for (const [what, type, params] of malformed) {
    it(`rejects ${what}`, () => {
      assert.equal(type.is(msg(type.method, params)), false);
    });
  }
});

describe('webview messages: envelopes and saved state', () => {
  it('takes only grid messages with an id and a method', () => {
    assert.equal(isIpcMessage(msg('grid/ready', {})), true);
    assert.equal(isIpcMessage(msg('grid/rows/response', { ok: true, value: null }, 'w3')), true);
    for (const bad of [null, 'grid/ready', [], { id: 'w1', scope: 'other', method: 'grid/ready', params: {} }, { scope: 'grid', method: 'grid/ready', params: {} },
      { id: 'w1', scope: 'grid', method: 7, params: {} }, { id: 'w1', scope: 'grid', method: 'grid/ready', params: {}, completionId: 3 }]) {
      assert.equal(isIpcMessage(bad), false, JSON.stringify(bad));
    }
  });

  it('restores only a saved state it can read (the panel serializer hands back what the webview saved)', () => {
    assert.equal(isGridPersistedState(savedState), true);
    assert.equal(isGridPersistedState(JSON.parse(JSON.stringify(savedState))), true);
    assert.equal(isGridPersistedState({ path: '/a.jsonl' }), true);
    assert.equal(isGridPersistedState(undefined), false);
    assert.equal(isGridPersistedState({ path: 3 }), false);
    assert.equal(isGridPersistedState({ path: '/a.jsonl', view: { sort: 'subject' } }), false);
  });
});
