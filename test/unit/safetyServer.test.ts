// Safe at the edges, through the engine server over stdio (a real child process driven by JSON-RPC,
// against the simulator on loopback): any input gets a sentence rather than a crash, and an export
// started there touches only its query's own files, inside the workspace.
import assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ErrorCodes, ResponseError } from 'vscode-jsonrpc/node';
import { CodeLensRequest, type CodeLens, type Diagnostic } from 'vscode-languageserver-protocol';
import {
  CancelExport,
  CheckpointInfo,
  CloseRows,
  ExportRows,
  GetRowColumns,
  GetRowRecords,
  GetRows,
  ListSessions,
  StartExport,
  TestConnection,
  type ConnectionRef,
  type ResponseErrorData,
} from '../../src/protocol/customMessages';
import { startSimulator, type RunningSimulator } from '../../src/simulator/index';
import { startEngineServer, type EngineServer } from '../support/engineServer';
import { snapshot } from '../support/cliProcess';

function msg(d: Diagnostic): string {
  return typeof d.message === 'string' ? d.message : d.message.value;
}

function jsonlKeys(text: string): string[] {
  return text.split('\n').filter(Boolean).map((l) => {
    const r = JSON.parse(l) as { id: number; generated_timestamp: number };
    return `${r.id}@${r.generated_timestamp}`;
  });
}

/** A request that must fail: resolves with its ResponseError. */
async function refusal(p: Promise<unknown>): Promise<ResponseError<ResponseErrorData>> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ResponseError, String(err));
    return err as ResponseError<ResponseErrorData>;
  }
  assert.fail('the request was answered instead of refused');
}

/** Bounded: a request the server swallowed must fail the test, not hang it. */
function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms); }),
  ]);
}

describe('safe at the edges: the engine server takes any input', function () {
  this.timeout(60_000);
  let ws: string;
  let server: EngineServer;

  before(async () => {
    ws = await fs.mkdtemp(path.join(os.tmpdir(), 'zdx-safety-server-'));
    server = await startEngineServer({ workspace: ws, connections: [], credentials: () => null });
  });

  after(async () => {
    await server?.stop();
    await fs.rm(ws, { recursive: true, force: true });
  });

  it('answers wrong parameter types on every custom request with InvalidParams (-32602) and a sentence naming the field', async () => {
    const abs = path.join(ws, 'rows.jsonl');
    const cases: [string, () => Promise<unknown>, RegExp][] = [
      ['StartExport null', () => server.rpc.sendRequest(StartExport.type, null as never), /^zendesk\/startExport takes an object of params, not null\.$/],
      ['StartExport queryUri 5', () => server.rpc.sendRequest(StartExport.type, { queryUri: 5 } as never), /"queryUri" must be a string, not the number 5\./],
      ['StartExport fresh "yes"', () => server.rpc.sendRequest(StartExport.type, { queryFile: abs, fresh: 'yes' } as never), /"fresh" must be true or false, not "yes"\./],
      ['StartExport query []', () => server.rpc.sendRequest(StartExport.type, { query: [], baseDir: ws } as never), /"query" must be an object, not an array\./],
      ['StartExport connection {}', () => server.rpc.sendRequest(StartExport.type, { queryFile: abs, connection: {} } as never), /"connection" must be a connection name or \{ name, baseUrl/],
      ['StartExport maxWaitMs -1', () => server.rpc.sendRequest(StartExport.type, { queryFile: abs, maxWaitMs: -1 }), /"maxWaitMs" must be a number above 0, not the number -1\./],
      ['CancelExport null', () => server.rpc.sendRequest(CancelExport.type, null as never), /^zendesk\/cancelExport takes an object of params, not null\.$/],
      ['CancelExport sessionId 7', () => server.rpc.sendRequest(CancelExport.type, { sessionId: 7 } as never), /"sessionId" must be a string, not the number 7\./],
      ['ListSessions "x"', () => server.rpc.sendRequest(ListSessions.type, 'x' as never), /^zendesk\/listSessions takes an object of params, not "x"\.$/],
      ['TestConnection null', () => server.rpc.sendRequest(TestConnection.type, null as never), /takes an object of params, not null/],
      ['TestConnection {}', () => server.rpc.sendRequest(TestConnection.type, {} as never), /^zendesk\/testConnection needs "connection" \(a connection name or/],
      ['CheckpointInfo null', () => server.rpc.sendRequest(CheckpointInfo.type, null as never), /takes an object of params, not null/],
      ['CheckpointInfo queryFile true', () => server.rpc.sendRequest(CheckpointInfo.type, { queryFile: true } as never), /"queryFile" must be a string, not true\./],
      ['GetRows null', () => server.rpc.sendRequest(GetRows.type, null as never), /^zendesk\/rows\/get takes an object of params, not null\.$/],
      ['GetRows start "a"', () => server.rpc.sendRequest(GetRows.type, { path: abs, start: 'a', count: 1, columns: [] } as never), /"start" must be a whole number, 0 or more, not "a"\./],
      ['GetRows columns missing', () => server.rpc.sendRequest(GetRows.type, { path: abs, start: 0, count: 1 } as never), /needs "columns" \(an array of strings\)\./],
      ['GetRows sort junk', () => server.rpc.sendRequest(GetRows.type, { path: abs, start: 0, count: 1, columns: [], sort: [{ column: 1 }] } as never), /"sort" must be an array of \{ column, dir/],
      ['GetRowColumns path 1', () => server.rpc.sendRequest(GetRowColumns.type, { path: 1 } as never), /"path" must be a string, not the number 1\./],
      ['GetRowRecords ids "1"', () => server.rpc.sendRequest(GetRowRecords.type, { path: abs, ids: '1' } as never), /"ids" must be an array of whole numbers, 0 or more, not "1"\./],
      ['ExportRows format xml', () => server.rpc.sendRequest(ExportRows.type, { path: abs, view: {}, target: abs, format: 'xml', columns: [] } as never), /"format" must be "csv", "jsonl" or "json", not "xml"\./],
      ['ExportRows view null', () => server.rpc.sendRequest(ExportRows.type, { path: abs, view: null, target: abs, format: 'csv', columns: [] } as never), /"view" must be an object \{ sort\?, filters\?, search\? \}, not null\./],
    ];
    for (const [name, send, sentence] of cases) {
      const err = await refusal(within(30_000, name, send()));
      assert.equal(err.code, ErrorCodes.InvalidParams, `${name}: ${err.code} ${err.message}`);
      assert.match(err.message, sentence, name);
      assert.doesNotMatch(err.message, /Cannot read|undefined|TypeError/, name);
      assert.equal(err.data?.code, 'invalidParams', name);
    }
    // A malformed notification has no answer; it must not take the server down either.
    await server.rpc.sendNotification(CloseRows.type, null as never);
    assert.deepEqual(await server.rpc.sendRequest(ListSessions.type, {}), { sessions: [] });
    assert.equal(server.child.exitCode, null, 'the server is still running');
  });

  it('a deeply nested or 10 MB garbage query file gets an invalid-query diagnostic and no Run CodeLens', async () => {
    const inputs: [string, string, RegExp][] = [
      ['deep.zdquery.json', `{"name":"d","resource":"tickets","params":${'['.repeat(200_000)}`, /nested more than 32 levels deep/],
      ['garbage.zdquery.json', 'x'.repeat(10 * 1024 * 1024), /is 10240 KB; a saved query is a small JSON object/],
    ];
    for (const [name, text, sentence] of inputs) {
      const file = path.join(ws, name);
      await fs.writeFile(file, text);
      const uri = await server.open(file, text);
      const diags = await server.waitFor(`diagnostics of ${name}`, () => server.diagnostics.get(uri), 30_000);
      assert.equal(diags.length, 1, JSON.stringify(diags.map(msg)));
      assert.equal(diags[0].severity, 1, 'an error');
      assert.match(msg(diags[0]), sentence);
      const lenses: CodeLens[] = (await server.rpc.sendRequest(CodeLensRequest.type, { textDocument: { uri } })) ?? [];
      assert.deepEqual(lenses, [], `${name}: no Run CodeLens`);
      const run = await refusal(server.rpc.sendRequest(StartExport.type, { queryUri: uri, connection: 'none' }));
      assert.equal(run.data?.code, 'invalidQuery', run.message);
    }
    assert.deepEqual(await server.rpc.sendRequest(ListSessions.type, {}), { sessions: [] }, 'the server still answers');
  });

  it('reads a query with one strictness for diagnostics, CodeLens and runs (a trailing comma is refused by all three)', async () => {
    const file = path.join(ws, 'comma.zdquery.json');
    const text = '{ "name": "c", "resource": "tickets", "startTime": 0, }';
    await fs.writeFile(file, text);
    const uri = await server.open(file, text);
    const diags = await server.waitFor('diagnostics', () => server.diagnostics.get(uri));
    assert.ok(diags.some((d) => d.severity === 1 && /not valid JSON/.test(msg(d))), JSON.stringify(diags.map(msg)));
    assert.deepEqual((await server.rpc.sendRequest(CodeLensRequest.type, { textDocument: { uri } })) ?? [], []);
    const run = await refusal(server.rpc.sendRequest(StartExport.type, { queryUri: uri, connection: 'none' }));
    assert.equal(run.data?.code, 'invalidQuery');
    assert.match(run.message, /not valid JSON: line 1, column \d+/);
  });

  it('a bad Content-Length on stdio does not swallow the next request', async () => {
    const request = (id: number) => Buffer.from(JSON.stringify({ jsonrpc: '2.0', id, method: 'zendesk/listSessions', params: {} }));
    const bad: [string, Buffer][] = [
      ['a Content-Length far larger than the body', Buffer.from('Content-Length: 100000000\r\n\r\n{"jsonrpc":"2.0","method":"x"}')],
      ['a negative Content-Length', Buffer.from('Content-Length: -5\r\n\r\n{"jsonrpc":"2.0"}')],
      ['a non-numeric Content-Length', Buffer.from('Content-Length: abc\r\n\r\n{"jsonrpc":"2.0"}')],
      ['no Content-Length', Buffer.from('Content-Type: application/json\r\n\r\n{"jsonrpc":"2.0"}')],
      ['a line that is no header', Buffer.from('hello world\r\n\r\n')],
      ['a body that is not JSON', Buffer.from('Content-Length: 9\r\n\r\nnot json!')],
      ['a Content-Length shorter than the body', Buffer.concat([Buffer.from('Content-Length: 5\r\n\r\n'), request(990)])],
    ];
    for (const [what, bytes] of bad) {
      await server.writeRaw(bytes);
      const answer = await within(30_000, `a request after ${what}`, server.rpc.sendRequest(ListSessions.type, {}));
      assert.deepEqual(answer, { sessions: [] }, what);
    }
    assert.ok(server.logs.some((l) => /Dropped a malformed message on stdin \(Content-Length "-5", which is not a whole number\)/.test(l)), server.logs.join('\n'));
    assert.ok(server.logs.some((l) => /its Content-Length 100000000 reached into the next message/.test(l)), server.logs.join('\n'));
    assert.equal(server.child.exitCode, null, 'the server is still running');
  });
});

describe('safe at the edges: files (engine server)', function () {
  this.timeout(120_000);
  let sim: RunningSimulator;
  let root: string;
  let ws: string;
  let outside: string;
  let server: EngineServer;
  const conn = (): ConnectionRef => ({ name: 'sim', baseUrl: sim.url, auth: 'apiToken', email: sim.credentials.admin.email });

  before(async () => {
    sim = await startSimulator({ seed: 3, rateLimits: false, counts: { tickets: 120, users: 40 } });
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'zdx-safety-files-'));
    ws = path.join(root, 'ws');
    outside = path.join(root, 'outside');
    await fs.mkdir(ws);
    await fs.mkdir(outside);
    server = await startEngineServer({ workspace: ws, connections: [conn()], credentials: () => ({ secret: sim.credentials.admin.token }) });
  });

  after(async () => {
    await server?.stop();
    await sim?.close();
    await fs.rm(root, { recursive: true, force: true });
  });

  async function query(name: string, body: Record<string, unknown>): Promise<string> {
    const file = path.join(ws, `${name}.zdquery.json`);
    const text = JSON.stringify({ name, connection: 'sim', resource: 'tickets', pagination: 'cursor', startTime: 0, ...body }, null, 2);
    await fs.writeFile(file, text);
    return server.open(file, text);
  }

  async function precious(file: string): Promise<string> {
    await fs.mkdir(path.dirname(file), { recursive: true });
    const content = `precious ${path.basename(file)} ${Date.now()}\n`;
    await fs.writeFile(file, content);
    return content;
  }

  it('Start Over deletes only the query\'s own files, never the other paths its checkpoint lists (outside the workspace too)', async () => {
    const uri = await query('over', { params: { perPage: 50, include: ['users'] }, output: { path: 'over/tickets.jsonl' } });
    const first = await server.rpc.sendRequest(StartExport.type, { queryUri: uri, waitForCompletion: true });
    assert.equal(first.finished?.status, 'done');
    const inWorkspace = path.join(ws, 'notes', 'keep.txt');
    const elsewhere = path.join(outside, 'precious.txt');
    const keep = { [inWorkspace]: await precious(inWorkspace), [elsewhere]: await precious(elsewhere) };
    // Someone else's checkpoint (a cloned repository) naming files that are not this query's.
    const cp = JSON.parse(await fs.readFile(first.checkpointPath, 'utf8')) as { files: Record<string, number> };
    cp.files[inWorkspace] = 0;
    cp.files[elsewhere] = 0;
    await fs.writeFile(first.checkpointPath, JSON.stringify(cp));

    const over = await server.rpc.sendRequest(StartExport.type, { queryUri: uri, fresh: true, waitForCompletion: true });
    assert.equal(over.finished?.status, 'done', JSON.stringify(over.finished?.error));
    for (const [file, content] of Object.entries(keep)) assert.equal(await fs.readFile(file, 'utf8'), content, `${file} untouched`);
    const keys = jsonlKeys(await fs.readFile(over.outputPath, 'utf8'));
    assert.deepEqual([...keys].sort(), sim.expected('tickets/cursor', { startTime: 0 }).map((e) => `${e.id}@${e.ts}`).sort(), 'the export was redone from the start');
    assert.equal(over.finished?.counts.sessionRecords, keys.length);
  });

  it('refuses an output outside the workspace folder (../x, an absolute path elsewhere) with an error diagnostic and one sentence', async () => {
    const victim = path.join(outside, 'abs.jsonl');
    const content = await precious(victim);
    for (const [name, out] of [['dotdot', '../outside/dotdot.jsonl'], ['absolute', victim]] as const) {
      const uri = await query(name, { output: { path: out } });
      const diags = await server.waitFor(`diagnostics of ${name}`, () => server.diagnostics.get(uri));
      const outsideDiag = diags.find((d) => /outside the workspace folder/.test(msg(d)));
      assert.ok(outsideDiag, JSON.stringify(diags.map(msg)));
      assert.equal(outsideDiag.severity, 1, 'an error, not a warning');
      const err = await refusal(server.rpc.sendRequest(StartExport.type, { queryUri: uri, waitForCompletion: true }));
      assert.equal(err.data?.code, 'invalidQuery');
      assert.match(err.message, /^The output \S+ resolves to \S+, outside the workspace folder \S+; outputs and their checkpoints stay in the workspace\.$/);
      const lenses: CodeLens[] = (await server.rpc.sendRequest(CodeLensRequest.type, { textDocument: { uri } })) ?? [];
      assert.deepEqual(lenses, [], 'no Run CodeLens on a query that will not run');
    }
    assert.equal(await fs.readFile(victim, 'utf8'), content);
    assert.ok(!existsSync(path.join(outside, 'dotdot.jsonl')));
    assert.deepEqual(sim.stats().requestLog.filter((r) => r.url.includes('dotdot') || r.url.includes('abs')), []);
  });

  it('refuses an output through a symlinked folder: an error diagnostic, one sentence, the link\'s target unchanged', async () => {
    const target = path.join(outside, 'linked');
    const victim = path.join(target, 'tickets.jsonl');
    const content = await precious(victim);
    await fs.symlink(target, path.join(ws, 'linked'));
    const before = snapshot(outside);
    const uri = await query('through-link', { output: { path: 'linked/tickets.jsonl' } });
    const diags = await server.waitFor('diagnostics', () => server.diagnostics.get(uri));
    const d = diags.find((x) => /outside the workspace folder/.test(msg(x)));
    assert.ok(d && d.severity === 1, JSON.stringify(diags.map(msg)));
    assert.match(msg(d), /through a symbolic link/);
    const err = await refusal(server.rpc.sendRequest(StartExport.type, { queryUri: uri, waitForCompletion: true }));
    assert.equal(err.data?.code, 'invalidQuery');
    assert.match(err.message, /^The output folder \S+ leads outside the workspace folder \S+ \(through a symbolic link, to \S+\); outputs and their checkpoints stay in the workspace\.$/);
    assert.equal(await fs.readFile(victim, 'utf8'), content);
    assert.deepEqual(snapshot(outside), before, 'nothing outside the workspace changed');
  });

  it('never writes through a symlink planted at the output, a sideload, the checkpoint or the lock', async () => {
    const plants: [string, string, RegExp][] = [
      ['output', 'planted/out.jsonl', /^The output \S+out\.jsonl is a symbolic link, which this tool never writes through/],
      ['sideload', 'planted/side.users.jsonl', /^The output \S+side\.users\.jsonl is a symbolic link, which this tool never writes through/],
      ['checkpoint', 'planted/cp.checkpoint.json', /^The checkpoint \S+cp\.checkpoint\.json is damaged \(it is a symbolic link, which this tool never follows\)/],
      ['lock', 'planted/lk.checkpoint.json.lock', /^The lock \S+lk\.checkpoint\.json\.lock is a symbolic link, which this tool never follows/],
    ];
    for (const [what, rel, sentence] of plants) {
      const victim = path.join(outside, `victim-${what}.txt`);
      const content = await precious(victim);
      await fs.mkdir(path.join(ws, 'planted'), { recursive: true });
      await fs.symlink(victim, path.join(ws, rel));
      const stem = path.basename(rel).split('.')[0];
      const uri = await query(`plant-${what}`, { params: { perPage: 50, include: ['users'] }, output: { path: `planted/${stem}.jsonl` } });
      const err = await refusal(server.rpc.sendRequest(StartExport.type, { queryUri: uri, waitForCompletion: true }));
      assert.match(err.message, sentence, what);
      assert.equal(await fs.readFile(victim, 'utf8'), content, `${what}: the link's target is unchanged`);
      assert.ok((await fs.lstat(path.join(ws, rel))).isSymbolicLink(), `${what}: the link itself is left as it was`);
    }
  });
});
