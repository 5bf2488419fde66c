// The engine server as a real child process over stdio, driven by a JSON-RPC client the way an
// editor would, against the simulator on loopback: diagnostics, hover, completion, CodeLens,
// export sessions with progress, cancel + resume, and the GetCredentials round trip.
import assert from 'node:assert/strict';
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  CancellationTokenSource,
  createMessageConnection,
  IPCMessageReader,
  IPCMessageWriter,
  StreamMessageReader,
  StreamMessageWriter,
  type MessageConnection,
} from 'vscode-jsonrpc/node';
import {
  CodeLensRefreshRequest,
  CodeLensRequest,
  CompletionRequest,
  DidChangeConfigurationNotification,
  DidOpenTextDocumentNotification,
  ExitNotification,
  HoverRequest,
  InitializedNotification,
  InitializeRequest,
  LogMessageNotification,
  PublishDiagnosticsNotification,
  ShutdownRequest,
  type CodeLens,
  type CompletionItem,
  type Diagnostic,
  type MarkupContent,
} from 'vscode-languageserver-protocol';
import { readCheckpoint } from '../../src/engine/export';
import {
  CancelExport,
  CheckpointInfo,
  ExportFinished,
  ExportProgress,
  GetCredentials,
  GetRowColumns,
  GetRows,
  ListSessions,
  PageArrived,
  StartExport,
  TestConnection,
  type ConnectionRef,
  type ExportFinishedParams,
  type ExportProgressParams,
  type GetCredentialsParams,
  type GetCredentialsResult,
  type PageArrivedParams,
  type ResponseErrorData,
} from '../../src/protocol/customMessages';
import { startSimulator, type RunningSimulator } from '../../src/simulator/index';
import { until } from '../support/until';

const REPO = path.resolve(__dirname, '..', '..');

interface Harness {
  child: ChildProcess;
  rpc: MessageConnection;
  diagnostics: Map<string, Diagnostic[]>;
  progress: ExportProgressParams[];
  pages: PageArrivedParams[];
  finished: ExportFinishedParams[];
  credentialCalls: GetCredentialsParams[];
  logs: string[];
  stderr: string[];
  lensRefreshes: number;
  waitFor<T>(what: string, probe: () => T | undefined, timeoutMs?: number): Promise<T>;
}

function startServer(onCredentials: (p: GetCredentialsParams) => GetCredentialsResult | Promise<GetCredentialsResult>): Harness {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'src/server/main.ts'), '--stdio'], {
    cwd: REPO,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const rpc = createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
  const h: Harness = {
    child,
    rpc,
    diagnostics: new Map(),
    progress: [],
    pages: [],
    finished: [],
    credentialCalls: [],
    logs: [],
    stderr: [],
    lensRefreshes: 0,
    waitFor: (what, probe, timeoutMs = 30_000) => until(what, probe, { timeoutMs, found: () => `stderr: ${h.stderr.join('')}` }),
  };
  child.stderr!.on('data', (d: Buffer) => h.stderr.push(d.toString()));
  rpc.onNotification(PublishDiagnosticsNotification.type, (p) => {
    h.diagnostics.set(p.uri, p.diagnostics);
  });
  rpc.onNotification(ExportProgress.type, (p) => {
    h.progress.push(p);
  });
  rpc.onNotification(PageArrived.type, (p) => {
    h.pages.push(p);
  });
  rpc.onNotification(ExportFinished.type, (p) => {
    h.finished.push(p);
  });
  rpc.onNotification(LogMessageNotification.type, (p) => {
    h.logs.push(p.message);
  });
  rpc.onRequest(CodeLensRefreshRequest.type, () => {
    h.lensRefreshes++;
  });
  rpc.onRequest(GetCredentials.type, (p) => {
    h.credentialCalls.push(p);
    return onCredentials(p);
  });
  rpc.listen();
  return h;
}

/** LSP 3.18 allows markup in diagnostic messages; this server sends plain strings. */
function msg(d: Diagnostic): string {
  return typeof d.message === 'string' ? d.message : d.message.value;
}

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l.trim() !== '');
}

function rangeOfText(text: string, needle: string, from = 0) {
  const offset = text.indexOf(needle, from);
  assert.ok(offset >= 0, `${needle} not in text`);
  const pos = (o: number) => {
    const before = text.slice(0, o).split('\n');
    return { line: before.length - 1, character: before[before.length - 1].length };
  };
  return { start: pos(offset), end: pos(offset + needle.length) };
}

describe('engine server over stdio', function () {
  this.timeout(60_000);

  let sim: RunningSimulator;
  let h: Harness;
  let ws: string;
  let conn: ConnectionRef;
  /** What the client answers for connections a test brings along. */
  let otherCredentials: (p: GetCredentialsParams) => GetCredentialsResult | Promise<GetCredentialsResult> = () => null;

  before(async () => {
    // Where a test acts on a running export, the simulator holds it (sim.hold) at a page of its choosing.
    sim = await startSimulator({ seed: 7, rateLimits: false, counts: { tickets: 300, organizations: 30 } });
    ws = await fs.mkdtemp(path.join(os.tmpdir(), 'zdx-server-'));
    conn = { name: 'sim', baseUrl: sim.url, auth: 'apiToken', email: sim.credentials.admin.email };
    h = startServer((p) => {
      if (p.connection.name === 'sim') return { secret: sim.credentials.admin.token };
      if (p.connection.name === 'sim-oauth') return { secret: sim.credentials.admin.oauthToken };
      return otherCredentials(p);
    });
    await h.rpc.sendRequest(InitializeRequest.type, {
      processId: process.pid,
      rootUri: pathToFileURL(ws).toString(),
      workspaceFolders: [{ uri: pathToFileURL(ws).toString(), name: 'ws' }],
      capabilities: { workspace: { codeLens: { refreshSupport: true } } },
      initializationOptions: { connections: [conn], storagePath: path.join(ws, '.storage') },
    });
    await h.rpc.sendNotification(InitializedNotification.type, {});
  });

  after(async () => {
    try {
      await h.rpc.sendRequest(ShutdownRequest.type);
      await h.rpc.sendNotification(ExitNotification.type);
    } catch {
      // The process may already be gone; it is killed below either way.
    }
    await new Promise<void>((resolve) => {
      if (h.child.exitCode !== null) return resolve();
      const timer = setTimeout(() => {
        h.child.kill();
        resolve();
      }, 3000);
      h.child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    h.rpc.dispose();
    await sim.close();
    await fs.rm(ws, { recursive: true, force: true });
  });

  async function open(name: string, text: string, onDisk = false): Promise<string> {
    const file = path.join(ws, name);
    if (onDisk) await fs.writeFile(file, text);
    const uri = pathToFileURL(file).toString();
    await h.rpc.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId: 'json', version: 1, text } });
    return uri;
  }

  it('publishes diagnostics the schema cannot express, on the offending JSON nodes', async () => {
    const text = [
      '{',
      '  "name": "bad",',
      '  "connection": "nope",',
      '  "resource": "organizations",',
      '  "startTime": "2999-01-01",',
      '  "params": { "include": ["abilities", "users"] },',
      '  "output": { "path": "../outside/orgs.jsonl" }',
      '}',
    ].join('\n');
    const uri = await open('bad.zdquery.json', text);
    const diags = await h.waitFor('diagnostics', () => h.diagnostics.get(uri));
    const find = (re: RegExp) => {
      const d = diags.find((x) => re.test(msg(x)));
      assert.ok(d, `no diagnostic matching ${re}; got ${JSON.stringify(diags.map(msg))}`);
      return d;
    };
    const conn = find(/no connection named "nope".*configured connections: sim/);
    assert.deepEqual(conn.range, rangeOfText(text, '"nope"'));
    assert.equal(conn.severity, 2);
    const future = find(/in the future/);
    assert.deepEqual(future.range, rangeOfText(text, '"2999-01-01"'));
    assert.equal(future.severity, 1);
    const sideload = find(/"users" is not a sideload/);
    assert.deepEqual(sideload.range, rangeOfText(text, '"users"'));
    assert.equal(sideload.severity, 1);
    const outside = find(/outside the workspace folder/);
    assert.deepEqual(outside.range, rangeOfText(text, '"../outside/orgs.jsonl"'));
    assert.ok(diags.every((d) => d.source === 'zendesk'));
    // Exactly one diagnostic per offending node.
    assert.equal(diags.length, 4, JSON.stringify(diags.map(msg)));
  });

  it('warns that a too-recent start time will be clamped, and says routing ignores it', async () => {
    const recent = '{ "name": "r", "resource": "tickets", "startTime": "-10s" }';
    const u1 = await open('recent.zdquery.json', recent);
    const d1 = await h.waitFor('diagnostics', () => h.diagnostics.get(u1));
    assert.equal(d1.length, 1);
    assert.match(msg(d1[0]), /clamped to now − 61 s/);
    assert.deepEqual(d1[0].range, rangeOfText(recent, '"-10s"'));

    const routing = '{ "name": "r", "resource": "routing_attributes", "startTime": "-7d", "pagination": "time" }';
    const u2 = await open('routing.zdquery.json', routing);
    const d2 = await h.waitFor('diagnostics', () => h.diagnostics.get(u2));
    assert.ok(d2.some((d) => /ignore startTime/.test(msg(d)) && d.severity === 3), JSON.stringify(d2));
    const pag = d2.find((d) => d.range.start.character === rangeOfText(routing, '"time"').start.character);
    assert.ok(pag && pag.severity === 1, JSON.stringify(d2));
  });

  it('re-checks connection names when the configuration changes', async () => {
    const text = '{ "name": "c", "connection": "later", "resource": "users" }';
    const uri = await open('later.zdquery.json', text);
    await h.waitFor('unknown connection', () => h.diagnostics.get(uri)?.find((d) => /"later"/.test(msg(d))));
    h.diagnostics.delete(uri);
    await h.rpc.sendNotification(DidChangeConfigurationNotification.type, {
      settings: { zendesk: { connections: [conn, { name: 'later', url: 'https://later.zendesk.com', authKind: 'oauth' }] } },
    });
    const after = await h.waitFor('new diagnostics', () => h.diagnostics.get(uri));
    assert.deepEqual(after, []);
    await h.rpc.sendNotification(DidChangeConfigurationNotification.type, { settings: { zendesk: { connections: [conn] } } });
  });

  it('hovers resources and parameters with markdown docs', async () => {
    const text = '{ "name": "h", "resource": "organizations", "params": { "include": ["abilities"], "perPage": 100 } }';
    const uri = await open('hover.zdquery.json', text);
    const at = (needle: string) => rangeOfText(text, needle).start;
    const res = await h.rpc.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line: 0, character: at('"organizations"').character + 3 } });
    const md = (res?.contents as MarkupContent).value;
    assert.match(md, /\/api\/v2\/incremental\/organizations/);
    assert.match(md, /time-based/);
    assert.match(md, /10 requests \/ min/);
    assert.match(md, /`abilities`/);
    assert.deepEqual(res?.range, rangeOfText(text, '"organizations"'));

    const per = await h.rpc.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line: 0, character: at('"perPage"').character + 2 } });
    assert.match((per?.contents as MarkupContent).value, /params\.perPage/);
  });

  it('completes connection names inside "connection"', async () => {
    const text = '{ "name": "x", "connection": "", "resource": "tickets" }';
    const uri = await open('complete.zdquery.json', text);
    const inside = rangeOfText(text, '""').start.character + 1;
    const items = (await h.rpc.sendRequest(CompletionRequest.type, { textDocument: { uri }, position: { line: 0, character: inside } })) as CompletionItem[];
    assert.deepEqual(items.map((i) => i.label), ['sim']);
    const edit = items[0].textEdit as { range: unknown; newText: string };
    assert.equal(edit.newText, '"sim"');
    assert.deepEqual(edit.range, rangeOfText(text, '""'));
  });

  const ticketsQuery = (name: string) => JSON.stringify({
    name,
    connection: 'sim',
    resource: 'tickets',
    startTime: 0,
    params: { perPage: 10 },
    output: { path: `out/${name}.jsonl` },
  }, null, 2);

  async function outputKeys(file: string): Promise<string[]> {
    return lines(await fs.readFile(file, 'utf8')).map((l) => {
      const r = JSON.parse(l) as { id: number; generated_timestamp: number };
      return `${r.id}@${r.generated_timestamp}`;
    });
  }

  function expectedKeys(): string[] {
    return sim.expected('tickets/cursor', { startTime: 0 }).map((e) => `${e.id}@${e.ts}`);
  }

  it('runs an export to completion with progress, pages, CodeLens before and after', async () => {
    const uri = await open('run.zdquery.json', ticketsQuery('run'), true);
    const before: CodeLens[] = await h.rpc.sendRequest(CodeLensRequest.type, { textDocument: { uri } }) ?? [];
    assert.deepEqual(before.map((l) => l.command?.command), ['zendesk.runQuery']);
    assert.deepEqual(before[0].command?.arguments, [uri]);

    const started = await h.rpc.sendRequest(StartExport.type, { queryUri: uri, sessionId: 'run-1', pageRecordsLimit: 10 });
    assert.equal(started.sessionId, 'run-1');
    assert.equal(started.endpointId, 'tickets/cursor');
    assert.equal(started.outputPath, path.join(ws, 'out', 'run.jsonl'));
    const done = await h.waitFor('finish', () => h.finished.find((f) => f.sessionId === 'run-1'));
    assert.equal(done.status, 'done', JSON.stringify(done.error));
    assert.equal(done.caughtUp, true);

    const keys = await outputKeys(started.outputPath);
    assert.deepEqual([...keys].sort(), [...expectedKeys()].sort());
    assert.equal(new Set(keys).size, keys.length);
    assert.equal(done.counts.records, keys.length);

    const pages = h.pages.filter((p) => p.sessionId === 'run-1');
    assert.equal(pages.length, Math.ceil(keys.length / 10), 'perPage 10 on the cursor export: exact pages');
    assert.equal(pages.reduce((n, p) => n + p.count, 0), keys.length);
    pages.forEach((p, i) => assert.equal(p.firstRow, pages.slice(0, i).reduce((n, q) => n + q.count, 0)));
    assert.ok(pages.every((p) => p.records?.length === p.count), 'small pages carry their records');
    const progress = h.progress.filter((p) => p.sessionId === 'run-1');
    assert.ok(progress.some((p) => p.event.type === 'page'));
    assert.ok(progress.some((p) => p.event.type === 'request'));
    assert.equal(progress.at(-1)?.counts.records, keys.length);

    const after: CodeLens[] = await h.rpc.sendRequest(CodeLensRequest.type, { textDocument: { uri } }) ?? [];
    assert.deepEqual(after.map((l) => l.command?.command), ['zendesk.runQuery', 'zendesk.resumeQuery', 'zendesk.openResults']);
    assert.match(after[1].command!.title, new RegExp(`⟳ Resume \\(${keys.length} records, last cursor time \\d{4}-`));
    assert.ok(h.lensRefreshes > 0, 'the server asked the client to refresh CodeLens');

    const info = await h.rpc.sendRequest(CheckpointInfo.type, { queryUri: uri });
    assert.equal(info.exists, true);
    assert.equal(info.matchesQuery, true);
    assert.equal(info.records, keys.length);
    assert.equal(info.caughtUp, true);
    assert.ok(info.files.includes(started.outputPath));
  });

  it('serves grid rows of the output (zendesk/rows/*, registered by main.ts)', async () => {
    const file = path.join(ws, 'out', 'run.jsonl');
    const keys = await outputKeys(file);
    const cols = await h.rpc.sendRequest(GetRowColumns.type, { path: file });
    assert.equal(cols.fileRows, keys.length);
    assert.ok(cols.columns.includes('id') && cols.columns.includes('generated_timestamp'));
    const rows = await h.rpc.sendRequest(GetRows.type, { path: file, start: 0, count: 3, columns: ['id'], sort: [{ column: 'id', dir: 'desc' }] });
    const ids = keys.map((k) => Number(k.split('@')[0])).sort((a, b) => b - a);
    assert.deepEqual(rows.rows.map((r) => Number(r.cells[0])), ids.slice(0, 3));
    assert.equal(rows.total, keys.length);
  });

  it('cancels mid-run with a valid checkpoint, then resumes to the exact record set', async () => {
    const uri = await open('cancel.zdquery.json', ticketsQuery('cancel'), true);
    sim.hold({ afterPages: 2, path: '/tickets/cursor' });
    const started = await h.rpc.sendRequest(StartExport.type, { queryUri: uri, sessionId: 'cancel-1' });
    await sim.waitForHeld();
    await h.waitFor('two pages', () => (h.pages.filter((p) => p.sessionId === 'cancel-1').length === 2 ? true : undefined));
    const answer = await h.rpc.sendRequest(CancelExport.type, { sessionId: 'cancel-1' });
    assert.equal(answer.cancelled, true);
    const cancelled = await h.waitFor('cancel finish', () => h.finished.find((f) => f.sessionId === 'cancel-1'));
    sim.release();
    assert.equal(cancelled.status, 'cancelled');
    assert.equal(cancelled.error?.code, 'cancelled');

    const cp = await readCheckpoint(started.checkpointPath);
    assert.ok(cp, 'checkpoint written');
    assert.equal(cp.caughtUp, false);
    const partial = await outputKeys(started.outputPath);
    assert.equal(cp.records, partial.length);
    assert.equal(partial.length, 20, 'two pages of 10');
    assert.equal(cancelled.counts.records, partial.length);

    const resumed = await h.rpc.sendRequest(StartExport.type, { queryUri: uri, sessionId: 'cancel-2', waitForCompletion: true });
    assert.equal(resumed.finished?.status, 'done');
    const keys = await outputKeys(started.outputPath);
    assert.deepEqual(keys, [...new Set(keys)], 'no duplicates');
    assert.deepEqual([...keys].sort(), [...expectedKeys()].sort());
    const firstResumedPage = h.pages.find((p) => p.sessionId === 'cancel-2');
    assert.equal(firstResumedPage?.firstRow, partial.length);

    const { sessions } = await h.rpc.sendRequest(ListSessions.type, {});
    const byId = new Map(sessions.map((s) => [s.sessionId, s]));
    assert.equal(byId.get('cancel-1')?.status, 'cancelled');
    assert.equal(byId.get('cancel-2')?.status, 'done');
    assert.equal(byId.get('cancel-2')?.resumed, true);
    assert.equal(byId.get('run-1')?.status, 'done');
  });

  it('rejects a second session on the same output and unknown queries with coded errors', async () => {
    const uri = await open('busy.zdquery.json', ticketsQuery('busy'), true);
    sim.hold({ path: '/tickets/cursor' });
    await h.rpc.sendRequest(StartExport.type, { queryUri: uri, sessionId: 'busy-1' });
    await sim.waitForHeld();
    await assert.rejects(h.rpc.sendRequest(StartExport.type, { queryUri: uri, sessionId: 'busy-2' }), (err: { data?: ResponseErrorData; message: string }) => {
      assert.equal(err.data?.code, 'locked');
      assert.match(err.message, /^Another export is writing \S*busy\.jsonl right now \(pid \d+, started \S+: .+\); wait for it to finish/);
      return true;
    });
    await h.rpc.sendRequest(CancelExport.type, { sessionId: 'busy-1' });
    await h.waitFor('busy finish', () => h.finished.find((f) => f.sessionId === 'busy-1'));
    sim.release();
    await assert.rejects(
      h.rpc.sendRequest(StartExport.type, { queryFile: path.join(ws, 'missing.zdquery.json') }),
      (err: { data?: ResponseErrorData; message: string }) => err.data?.code === 'io' && /missing\.zdquery\.json/.test(err.message),
    );
  });

  it('cancelling a waitForCompletion request ($/cancelRequest) cancels the session', async () => {
    const uri = await open('token.zdquery.json', ticketsQuery('token'), true);
    const source = new CancellationTokenSource();
    sim.hold({ afterPages: 1, path: '/tickets/cursor' });
    const pending = h.rpc.sendRequest(StartExport.type, { queryUri: uri, sessionId: 'token-1', waitForCompletion: true }, source.token);
    await sim.waitForHeld();
    await h.waitFor('a page', () => (h.pages.some((p) => p.sessionId === 'token-1') ? true : undefined));
    source.cancel();
    await assert.rejects(pending);
    const finished = await h.waitFor('token finish', () => h.finished.find((f) => f.sessionId === 'token-1'));
    sim.release();
    assert.equal(finished.status, 'cancelled');
    const cp = await readCheckpoint(finished.checkpointPath);
    assert.equal(cp?.records, finished.counts.records);
    assert.equal(finished.counts.records, 10, 'the one page before the cancel');
  });

  it('a cancel reaches the HTTP request in flight', async () => {
    const uri = await open('slow.zdquery.json', ticketsQuery('slow'), true);
    // The first request waits inside the simulator until released (or for 10 minutes).
    sim.hold({ path: '/tickets/cursor', maxHoldMs: 600_000 });
    try {
      await h.rpc.sendRequest(StartExport.type, { queryUri: uri, sessionId: 'slow-1' });
      await sim.waitForHeld();
      assert.equal((await h.rpc.sendRequest(CancelExport.type, { sessionId: 'slow-1' })).cancelled, true);
      const finished = await h.waitFor('slow finish', () => h.finished.find((f) => f.sessionId === 'slow-1'));
      assert.equal(finished.status, 'cancelled');
      // Finished while its request is still held: the cancel aborted the request, it didn't wait for the answer.
      assert.equal(sim.heldRequests().length, 1, 'the request was still unanswered when the session ended');
      assert.equal(finished.counts.records, 0);
    } finally {
      sim.release();
    }
  });

  it('refreshes an OAuth token through GetCredentials(reason: refresh) after a 401', async () => {
    const oauth: ConnectionRef = { name: 'sim-oauth', baseUrl: sim.url, auth: 'oauth' };
    const uri = await open('oauth.zdquery.json', ticketsQuery('oauth'), true);
    sim.setFaults([{ kind: 'unauthorized', times: 1, path: '/tickets/cursor' }]);
    try {
      const r = await h.rpc.sendRequest(StartExport.type, { queryUri: uri, connection: oauth, sessionId: 'oauth-1', waitForCompletion: true });
      assert.equal(r.finished?.status, 'done');
      const calls = h.credentialCalls.filter((c) => c.connection.name === 'sim-oauth');
      assert.deepEqual(calls.map((c) => c.reason), ['export', 'refresh']);
      // The refused token is named by its fingerprint, never sent back.
      assert.equal(calls[1].rejected, createHash('sha256').update(sim.credentials.admin.oauthToken).digest('hex').slice(0, 16));
      assert.ok(!JSON.stringify(calls).includes(sim.credentials.admin.oauthToken));
      assert.deepEqual([...(await outputKeys(r.outputPath))].sort(), [...expectedKeys()].sort());
    } finally {
      sim.setFaults([]);
    }
  });

  it('three OAuth sessions refused together at two expiries: each asks once per expiry with the refused token\'s fingerprint, and the client refreshes once', async () => {
    let skewMs = 0;
    const oauthSim = await startSimulator({ seed: 5, rateLimits: false, counts: { tickets: 150 }, oauth: { now: () => Date.now() + skewMs } });
    try {
      // Sign in (the test plays the browser with the simulator's approve=1).
      const verifier = 'v'.repeat(43);
      const challenge = createHash('sha256').update(verifier).digest('base64url');
      const authorize = await fetch(`${oauthSim.url}/oauth/authorizations/new?${new URLSearchParams({ response_type: 'code', client_id: 'zdx-demo', redirect_uri: 'http://127.0.0.1:9/callback', scope: 'read', state: 's', code_challenge: challenge, code_challenge_method: 'S256', approve: '1' })}`, { redirect: 'manual' });
      const code = new URL(authorize.headers.get('location')!).searchParams.get('code')!;
      const grant = async (body: Record<string, string>): Promise<{ access_token: string; refresh_token: string }> => {
        const res = await fetch(`${oauthSim.url}/oauth/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_id: 'zdx-demo', ...body }) });
        assert.equal(res.status, 200, await res.clone().text());
        return await res.json() as { access_token: string; refresh_token: string };
      };
      // The client's side, as the extension's provider keeps it: one pair, renewed once per refused token.
      let pair = await grant({ grant_type: 'authorization_code', code, redirect_uri: 'http://127.0.0.1:9/callback', code_verifier: verifier });
      const handedOut = new Set<string>();
      let renewing: Promise<void> | null = null;
      const fingerprint = (t: string): string => createHash('sha256').update(t).digest('hex').slice(0, 16);
      otherCredentials = async (p) => {
        if (p.connection.name !== 'oauth-many') return null;
        if (p.reason === 'refresh') {
          assert.ok([...handedOut].some((t) => fingerprint(t) === p.rejected), 'the fingerprint names a token the client gave');
          if (renewing) await renewing;
          if (p.rejected === fingerprint(pair.access_token)) {
            renewing = grant({ grant_type: 'refresh_token', refresh_token: pair.refresh_token }).then((next) => { pair = next; }).finally(() => { renewing = null; });
            await renewing;
          }
        }
        handedOut.add(pair.access_token);
        return { secret: pair.access_token };
      };
      const ref: ConnectionRef = { name: 'oauth-many', baseUrl: oauthSim.url, auth: 'oauth' };
      const uris = await Promise.all(['x', 'y', 'z'].map((n) => open(`many-${n}.zdquery.json`, ticketsQuery(`many-${n}`), true)));
      const asked = (reason: string): GetCredentialsParams[] => h.credentialCalls.filter((c) => c.connection.name === 'oauth-many' && c.reason === reason);
      // The engine sends one export request per account at a time, so the others queue behind the
      // held one, each with the token it was given at its start.
      oauthSim.hold({ path: '/tickets/cursor' });
      for (const [i, uri] of uris.entries()) await h.rpc.sendRequest(StartExport.type, { queryUri: uri, connection: ref, sessionId: `many-${i}` });
      await h.waitFor('the three sessions\' credentials', () => (asked('export').length === 3 ? true : undefined));
      for (let expiry = 1; expiry <= 2; expiry++) {
        await oauthSim.waitForHeld();
        skewMs += 2 * 3600_000;
        oauthSim.release();
        if (expiry === 1) oauthSim.hold({ afterPages: 6, path: '/tickets/cursor' });
      }
      const finished = await Promise.all([0, 1, 2].map((i) => h.waitFor(`many-${i} to finish`, () => h.finished.find((f) => f.sessionId === `many-${i}`), 60_000)));
      const want = oauthSim.expected('tickets/cursor', { startTime: 0 }).map((e) => `${e.id}@${e.ts}`).sort();
      for (const f of finished) {
        assert.equal(f.status, 'done', JSON.stringify(f.error));
        assert.deepEqual([...(await outputKeys(f.outputPath))].sort(), want);
      }
      assert.equal(asked('refresh').length, 6, 'each session asked once per expiry');
      const stats = oauthSim.stats();
      assert.deepEqual(stats.requestLog.filter((l) => l.url === '/oauth/tokens').map((l) => l.status), [200, 200, 200], 'the sign-in, then one refresh per expiry');
      assert.equal(stats.refreshTokenReuses, 0);
      assert.equal(stats.byStatus[401], 6);
    } finally {
      otherCredentials = () => null;
      oauthSim.release();
      await oauthSim.close();
    }
  });

  it('asks the client for the secret (GetCredentials) and never logs it', async () => {
    const calls = h.credentialCalls.filter((c) => c.reason === 'export');
    assert.ok(calls.length >= 3);
    assert.deepEqual(calls[0].connection, conn);
    assert.ok(!JSON.stringify(calls).includes(sim.credentials.admin.token));

    const ok = await h.rpc.sendRequest(TestConnection.type, { connection: 'sim' });
    assert.ok(ok.ok, JSON.stringify(ok));
    assert.equal(ok.user.role, 'admin');
    assert.equal(h.credentialCalls.at(-1)?.reason, 'testConnection');

    const none = await h.rpc.sendRequest(TestConnection.type, { connection: { name: 'nosecret', baseUrl: sim.url, auth: 'apiToken', email: 'admin@example.com' } });
    assert.ok(!none.ok && none.error.code === 'noCredentials', JSON.stringify(none));

    const unknown = await h.rpc.sendRequest(TestConnection.type, { connection: 'nowhere' });
    assert.ok(!unknown.ok && unknown.error.code === 'unknownConnection', JSON.stringify(unknown));

    assert.ok(h.logs.length > 0, 'the server logs through the connection');
    assert.ok(h.logs.every((l) => !l.includes(sim.credentials.admin.token)));
    assert.ok(h.stderr.every((l) => !l.includes(sim.credentials.admin.token)));
  });

  it('keeps past sessions in the history file for the next server', async () => {
    const file = path.join(ws, '.storage', 'sessions.json');
    const text = await fs.readFile(file, 'utf8');
    const ids = (JSON.parse(text) as { sessions: { sessionId: string }[] }).sessions.map((s) => s.sessionId);
    assert.ok(ids.includes('run-1') && ids.includes('cancel-1'), ids.join(','));
    assert.ok(!text.includes(sim.credentials.admin.token));
  });
});

describe('engine server over IPC', function () {
  this.timeout(60_000);

  it('initializes and answers custom requests over node IPC (how the language client starts it)', async () => {
    const child = fork(path.join(REPO, 'src/server/main.ts'), ['--node-ipc'], { execArgv: ['--import', 'tsx'], cwd: REPO, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    const rpc = createMessageConnection(new IPCMessageReader(child), new IPCMessageWriter(child));
    rpc.listen();
    try {
      const init = await rpc.sendRequest(InitializeRequest.type, { processId: process.pid, rootUri: null, capabilities: {} });
      assert.ok(init.capabilities.codeLensProvider);
      await rpc.sendNotification(InitializedNotification.type, {});
      assert.deepEqual(await rpc.sendRequest(ListSessions.type, {}), { sessions: [] });
      const info = await rpc.sendRequest(CheckpointInfo.type, { queryFile: path.join(os.tmpdir(), 'no-such.zdquery.json') });
      assert.equal(info.queryValid, false);
      assert.equal(info.error?.code, 'io');
      await rpc.sendRequest(ShutdownRequest.type);
      const exited = new Promise((resolve) => child.once('exit', resolve));
      await rpc.sendNotification(ExitNotification.type);
      await exited;
    } finally {
      rpc.dispose();
      if (child.exitCode === null) child.kill();
    }
  });
});
