// In-host integration tests of the extension (mocha inside the real VS Code extension host, with
// the real `vscode` API), against the simulator started in this process. They drive the extension
// through its commands and watch it through the API object that activate() returns.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Checkpoint } from '../../src/engine/export';
import type { ExportFinishedParams, SessionInfo } from '../../src/protocol/customMessages';
import { startSimulator } from '../../src/simulator/index';
import type { RunningSimulator } from '../../src/simulator/types';
import type { ZendeskExportApi } from '../../src/extension/extension';
import { until } from '../support/until';
import { versionKeys } from '../support/versions';

const EXTENSION_ID = 'zdx.zendesk-export-workbench';
const CONNECTION = 'Integration simulator';

function workspaceDir(): string {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the test run must open a workspace folder');
  return folder.uri.fsPath;
}

async function api(): Promise<ZendeskExportApi> {
  const ext = vscode.extensions.getExtension<ZendeskExportApi>(EXTENSION_ID);
  assert.ok(ext, `${EXTENSION_ID} is not loaded`);
  return ext.activate();
}

async function writeQuery(name: string, body: Record<string, unknown>): Promise<vscode.Uri> {
  const file = path.join(workspaceDir(), `${name}.zdquery.json`);
  await writeFile(file, `${JSON.stringify(body, null, 2)}\n`);
  return vscode.Uri.file(file);
}

function lines(file: string, bytes?: number): Record<string, unknown>[] {
  const buf = readFileSync(file);
  const text = buf.subarray(0, bytes ?? buf.length).toString('utf8');
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** "id:ts" of every record version, the unit the simulator's oracle speaks in. */
function versions(records: Record<string, unknown>[], endpointId: string): string[] {
  return versionKeys(records, endpointId, ':');
}

function expectedVersions(sim: RunningSimulator, endpointId: string): string[] {
  return sim.expected(endpointId, { startTime: 0 }).map((e) => `${e.id}:${e.ts}`);
}

/**
 * Runs a command that starts an export, held by the simulator after `pages` pages; resolves with the
 * running session once it has written them. The caller ends the hold with sim.release().
 */
async function startAndHoldAfter(sim: RunningSimulator, ext: ZendeskExportApi, command: string, uri: vscode.Uri, args: unknown[], pages: number): Promise<{ session: SessionInfo; done: Thenable<ExportFinishedParams | undefined> }> {
  sim.hold({ afterPages: pages, path: '/tickets/cursor', maxHoldMs: 120_000 });
  const done = vscode.commands.executeCommand<ExportFinishedParams | undefined>(command, uri, ...args);
  await sim.waitForHeld(60_000);
  const session = await until(`${pages} pages of ${path.basename(uri.fsPath)}`, () =>
    ext.sessions.list().find((s) => s.queryUri === uri.toString() && s.status === 'running' && s.counts.pages === pages), 60_000);
  return { session, done };
}

/** `zdx simulate` as a child process (Node = the host's own executable), resolved with its URL. */
async function childSimulator(cli: string, args: string[]): Promise<{ url: string; close: () => Promise<void> }> {
  const child = spawn(process.execPath, [cli, 'simulate', '--port', '0', ...args], { env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' }, stdio: ['ignore', 'pipe', 'inherit'] });
  const close = (): Promise<void> => new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout?.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`simulator exited with ${code}: ${out}`)));
    setTimeout(() => reject(new Error(`simulator did not start: ${out}`)), 120_000).unref();
  });
  return { url, close };
}

/** Pids of this extension host's children running the engine server. */
function enginePids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      // The engine names itself zdx-engine (process.title), which replaces its command line.
      if (ppid === process.pid && (cmd.includes('dist/server.js') || cmd.startsWith('zdx-engine'))) pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

describe('Zendesk Export extension (in the real extension host)', () => {
  let sim: RunningSimulator;

  before(async function () {
    this.timeout(120_000);
    // Exports the tests interrupt are held by the simulator (sim.hold) where the test acts.
    sim = await startSimulator({ port: 0, seed: 7, counts: { tickets: 4000, users: 300 }, rateLimits: false });
    const ext = await api();
    await until('the engine to start', () => ext.engine.isRunning, 60_000);
  });

  after(async () => {
    await sim?.close();
  });

  it('activates without waiting for anything and registers every contributed command', async () => {
    const ext = await api();
    console.log(`[figures] activation: ${ext.activationMs} ms`);
    // activate() is synchronous: the engine, the demo simulator and the query scan start in the
    // background. This bound catches a wait slipped into it (a process start, a network call), not
    // a slow machine: the figure above is the measurement.
    assert.ok(ext.activationMs < 10_000, `activation took ${ext.activationMs} ms`);
    const contributed = (vscode.extensions.getExtension(EXTENSION_ID)?.packageJSON as { contributes: { commands: { command: string }[] } }).contributes.commands.map((c) => c.command);
    const registered = new Set(await vscode.commands.getCommands(true));
    const missing = contributed.filter((c) => !registered.has(c));
    assert.deepEqual(missing, [], `contributed but not registered: ${missing.join(', ')}`);
    assert.ok(contributed.length >= 13);
  });

  it('adds a connection to the simulator, keeps the token only in secret storage, and tests it', async () => {
    const ext = await api();
    const token = sim.credentials.admin.token;
    const added = await vscode.commands.executeCommand('zendesk.addConnection', { name: CONNECTION, url: sim.url, authKind: 'apiToken', email: sim.credentials.admin.email, token });
    assert.equal(added, CONNECTION);
    const saved = ext.connections.get(CONNECTION);
    assert.deepEqual({ name: saved?.name, url: saved?.url, authKind: saved?.authKind, email: saved?.email }, { name: CONNECTION, url: sim.url, authKind: 'apiToken', email: sim.credentials.admin.email });
    assert.equal(await ext.connections.getToken(CONNECTION), token);
    const settings = JSON.stringify(vscode.workspace.getConfiguration('zendesk').inspect('connections'));
    assert.ok(!settings.includes(token), `the token leaked into settings: ${settings}`);
    assert.equal(await vscode.commands.executeCommand('zendesk.testConnection', CONNECTION), true);
  });

  it('starts the demo simulator as a child process and configures the demo connection', async function () {
    this.timeout(120_000);
    const ext = await api();
    // Whenever the demo connection shows, its token is already there: a Run clicked the moment the
    // connection appears finds one (it was once stored after the connection).
    const tokenWhenShown: Promise<boolean>[] = [];
    const watching = ext.connections.onDidChange(() => {
      if (ext.connections.get('Demo (simulator)')) tokenWhenShown.push(ext.connections.hasToken('Demo (simulator)'));
    });
    const url = await vscode.commands.executeCommand<string | undefined>('zendesk.startSimulator');
    watching.dispose();
    try {
      assert.ok(tokenWhenShown.length > 0, 'the demo connection never appeared');
      assert.deepEqual(await Promise.all(tokenWhenShown), tokenWhenShown.map(() => true), 'the demo connection showed without its token');
      assert.match(url ?? '', /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(ext.connections.get('Demo (simulator)')?.url, url);
      assert.equal(await ext.connections.hasToken('Demo (simulator)'), true);
      assert.equal(await vscode.commands.executeCommand('zendesk.testConnection', 'Demo (simulator)'), true);
    } finally {
      await vscode.commands.executeCommand('zendesk.stopSimulator');
    }
    assert.equal(await vscode.commands.executeCommand('zendesk.removeConnection', 'Demo (simulator)', { confirm: false }), true);
    assert.equal(ext.connections.get('Demo (simulator)'), undefined);
    assert.equal(await ext.connections.hasToken('Demo (simulator)'), false, 'removing a connection deletes its token');
  });

  it('runs a saved query to completion with exactly the records the simulator holds', async function () {
    this.timeout(120_000);
    const uri = await writeQuery('all-tickets', { name: 'All tickets', connection: CONNECTION, resource: 'tickets', pagination: 'cursor', startTime: 0, params: { perPage: 100 } });
    const finished = await vscode.commands.executeCommand<ExportFinishedParams>('zendesk.runQuery', uri, { fresh: true });
    assert.ok(finished, 'the command did not start an export');
    assert.equal(finished.status, 'done', JSON.stringify(finished.error));
    assert.equal(finished.caughtUp, true);
    assert.equal(path.dirname(finished.outputPath), path.join(workspaceDir(), 'all-tickets'), 'default output: a folder of the query name beside it');
    const got = versions(lines(finished.outputPath), 'tickets/cursor');
    const want = expectedVersions(sim, 'tickets/cursor');
    assert.equal(got.length, want.length);
    assert.deepEqual([...got].sort(), [...want].sort());
    assert.equal(finished.counts.records, want.length);
    const run = (await api()).sessions.get(finished.sessionId);
    assert.equal(run?.status, 'done');
  });

  it('cancel mid-run leaves a valid checkpoint, and resume appends exactly the missing records', async function () {
    this.timeout(180_000);
    const ext = await api();
    const uri = await writeQuery('cancel-me', { name: 'Cancel me', connection: CONNECTION, resource: 'tickets', pagination: 'cursor', startTime: 0, params: { perPage: 100 } });
    const { session, done } = await startAndHoldAfter(sim, ext, 'zendesk.runQuery', uri, [{ fresh: true }], 3);
    assert.equal(await vscode.commands.executeCommand('zendesk.cancelExport', session.sessionId), true);
    const cancelled = await done;
    sim.release();
    assert.equal(cancelled?.status, 'cancelled');

    const cp = JSON.parse(readFileSync(cancelled.checkpointPath, 'utf8')) as Checkpoint;
    assert.ok(cp.position, 'the checkpoint has a position to resume from');
    assert.equal(cp.caughtUp, false);
    const want = expectedVersions(sim, 'tickets/cursor');
    assert.ok(cp.records > 0 && cp.records < want.length, `checkpoint records ${cp.records}`);
    const outputBytes = cp.files[cancelled.outputPath];
    assert.equal(typeof outputBytes, 'number');
    const before = lines(cancelled.outputPath, outputBytes);
    assert.equal(before.length, cp.records, 'the checkpoint counts exactly the records up to its byte length');

    const resumed = await vscode.commands.executeCommand<ExportFinishedParams>('zendesk.resumeQuery', uri);
    assert.equal(resumed?.status, 'done', JSON.stringify(resumed?.error));
    const all = versions(lines(resumed.outputPath), 'tickets/cursor');
    assert.equal(all.length, want.length, 'nothing missing, nothing doubled');
    assert.deepEqual([...all].sort(), [...want].sort());
    assert.equal(resumed.counts.sessionRecords, want.length - cp.records, 'resume fetched only the missing records');
  });

  it('restarts the engine when its process dies mid-run, and the export resumes', async function () {
    this.timeout(180_000);
    const ext = await api();
    const uri = await writeQuery('kill-engine', { name: 'Kill engine', connection: CONNECTION, resource: 'tickets', pagination: 'cursor', startTime: 0, params: { perPage: 100 } });
    const { done } = await startAndHoldAfter(sim, ext, 'zendesk.runQuery', uri, [{ fresh: true }], 2);
    const pids = enginePids();
    assert.equal(pids.length, 1, `engine processes: ${pids.join(', ')}`);
    process.kill(pids[0], 'SIGKILL');
    const interrupted = await done;
    sim.release();
    assert.equal(interrupted?.status, 'failed');
    await until('the engine to restart', () => {
      const now = enginePids();
      return ext.engine.isRunning && now.length === 1 && now[0] !== pids[0];
    }, 60_000);

    const resumed = await vscode.commands.executeCommand<ExportFinishedParams>('zendesk.resumeQuery', uri);
    assert.equal(resumed?.status, 'done', JSON.stringify(resumed?.error));
    const want = expectedVersions(sim, 'tickets/cursor');
    const got = versions(lines(resumed.outputPath), 'tickets/cursor');
    assert.equal(got.length, want.length, 'nothing missing, nothing doubled after the crash');
    assert.deepEqual([...got].sort(), [...want].sort());
    assert.ok(resumed.counts.sessionRecords < want.length, 'the resumed run continued from the checkpoint');
  });

  it('shows diagnostics and CodeLens on a query file', async function () {
    this.timeout(60_000);
    const uri = await writeQuery('broken', { name: 'Broken', connection: 'Nobody', resource: 'tickets', params: { include: ['not_a_sideload'] } });
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc);
    const diagnostics = await until('diagnostics from the engine', () => {
      const d = vscode.languages.getDiagnostics(uri).filter((x) => x.source === 'zendesk');
      return d.length >= 2 ? d : undefined;
    });
    const text = diagnostics.map((d) => d.message).join('\n');
    assert.match(text, /not_a_sideload/);
    assert.match(text, /Nobody/);

    const good = await writeQuery('all-tickets', { name: 'All tickets', connection: CONNECTION, resource: 'tickets', pagination: 'cursor', startTime: 0, params: { perPage: 100 } });
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(good));
    const lenses = await until('CodeLens', async () => {
      const l = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', good, 10);
      const cmds = (l ?? []).map((x) => x.command?.command);
      return cmds.includes('zendesk.runQuery') && cmds.includes('zendesk.resumeQuery') ? l : undefined;
    });
    const titles = lenses.map((l) => l.command?.title ?? '');
    assert.ok(titles.some((t) => /Resume/.test(t)), titles.join(' | '));
    assert.ok(lenses.some((l) => l.command?.command === 'zendesk.openResults'), 'Open results after a run');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('keeps the extension host small during a 200,000-record export (engine in its own process)', async function () {
    this.timeout(600_000);
    // The big simulator runs in a child process so its memory doesn't count as the host's.
    const cli = path.join(vscode.extensions.getExtension(EXTENSION_ID)?.extensionPath ?? '', 'dist', 'cli.js');
    assert.ok(existsSync(cli), `${cli} missing: npm run build`);
    const big = await childSimulator(cli, ['--tickets', '200000', '--no-rate-limits', '--seed', '3', '--live', '0']);
    try {
      await vscode.commands.executeCommand('zendesk.addConnection', { name: 'Big simulator', url: big.url, authKind: 'apiToken', email: sim.credentials.admin.email, token: sim.credentials.admin.token });
      const uri = await writeQuery('big', { name: 'Big', connection: 'Big simulator', resource: 'tickets', pagination: 'cursor', startTime: 0, params: { perPage: 1000, supportTypeScope: 'all' } });
      type Mem = NodeJS.MemoryUsage & { gcAvailable: boolean };
      const before = await vscode.commands.executeCommand<Mem>('zendesk.test.memoryUsage', { gc: true });
      let peakRss = before.rss;
      let peakHeap = before.heapUsed;
      const sampler = setInterval(() => {
        const m = process.memoryUsage();
        peakRss = Math.max(peakRss, m.rss);
        peakHeap = Math.max(peakHeap, m.heapUsed);
      }, 200);
      const started = Date.now();
      const finished = await vscode.commands.executeCommand<ExportFinishedParams>('zendesk.runQuery', uri, { fresh: true });
      const seconds = (Date.now() - started) / 1000;
      clearInterval(sampler);
      const after = await vscode.commands.executeCommand<Mem>('zendesk.test.memoryUsage', { gc: true });
      assert.equal(finished?.status, 'done', JSON.stringify(finished?.error));
      // support_type_scope 'all': every seeded ticket, AI-agent ones included (Zendesk hides those by default).
      assert.equal(finished.counts.records, 200_000);
      const written = readFileSync(finished.outputPath, 'utf8').split('\n').filter(Boolean).length;
      assert.equal(written, 200_000);
      const mb = (b: number): string => `${(b / 1048576).toFixed(1)} MB`;
      const size = statSync(finished.outputPath).size;
      console.log(`[figures] 200,000-record export: ${seconds.toFixed(1)} s, ${finished.counts.pages} pages, output ${mb(size)}; ` +
        `host rss ${mb(before.rss)} -> ${mb(after.rss)} (peak ${mb(peakRss)}), heapUsed ${mb(before.heapUsed)} -> ${mb(after.heapUsed)} (peak ${mb(peakHeap)}), gc ${before.gcAvailable ? 'forced' : 'not exposed'}`);
      // The records never pass through the host: its heap must not grow with the export.
      assert.ok(after.heapUsed - before.heapUsed < 50 * 1048576, `host heap grew by ${mb(after.heapUsed - before.heapUsed)}`);
      await rm(path.dirname(finished.outputPath), { recursive: true, force: true });
    } finally {
      await big.close();
    }
  });
});


describe('safe at the edges (in the real extension host)', () => {
  const SAFETY = 'Safety simulator';
  let sim: RunningSimulator;

  before(async function () {
    this.timeout(120_000);
    sim = await startSimulator({ port: 0, seed: 23, counts: { tickets: 600 }, rateLimits: false, latencyMs: 20 });
    const ext = await api();
    await until('the engine to start', () => ext.engine.isRunning, 60_000);
    await vscode.commands.executeCommand('zendesk.addConnection', { name: SAFETY, url: sim.url, authKind: 'apiToken', email: sim.credentials.admin.email, token: sim.credentials.admin.token });
  });

  after(async () => {
    sim?.release();
    await vscode.commands.executeCommand('zendesk.removeConnection', SAFETY, { confirm: false });
    await vscode.workspace.getConfiguration('zendesk').update('export.maxWaitMinutes', undefined, vscode.ConfigurationTarget.Global);
    await sim?.close();
  });

  async function gridFiles(): Promise<string[]> {
    return (await vscode.commands.executeCommand<{ open: string[] }>('zendesk.grid.state')).open;
  }

  it('Open in Grid and Open Results without an argument open the active saved query\'s results (or a checkpoint\'s output), never the query or checkpoint itself', async function () {
    this.timeout(120_000);
    const uri = await writeQuery('grid-fallback', { name: 'Grid fallback', connection: SAFETY, resource: 'tickets', pagination: 'cursor', startTime: 0, params: { perPage: 200 } });
    const finished = await vscode.commands.executeCommand<ExportFinishedParams>('zendesk.runQuery', uri, { fresh: true });
    assert.equal(finished?.status, 'done', JSON.stringify(finished?.error));
    const actives: [string, vscode.Uri][] = [
      ['zendesk.openInGrid', uri],
      ['zendesk.openResults', uri],
      ['zendesk.openInGrid', vscode.Uri.file(finished.checkpointPath)],
    ];
    for (const [command, active] of actives) {
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
      await until('no grid open', async () => ((await gridFiles()).length === 0 ? true : undefined));
      await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(active));
      await vscode.commands.executeCommand(command);
      const open = await until(`${command} with ${path.basename(active.fsPath)} active to open a grid`, async () => {
        const files = await gridFiles();
        return files.length ? files : undefined;
      });
      assert.deepEqual(open, [finished.outputPath], `${command} with ${path.basename(active.fsPath)} active`);
    }
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('zendesk.export.maxWaitMinutes reaches the engine: a Retry-After past it ends the run as rateLimited with the engine\'s sentence', async function () {
    this.timeout(90_000);
    // A simulator of its own: the engine keeps honouring a Retry-After for its host across runs.
    const limited = await startSimulator({ port: 0, seed: 29, counts: { tickets: 50 }, rateLimits: false, faults: [{ kind: 'plainText429', retryAfter: 600, path: '/tickets/cursor' }] });
    await vscode.commands.executeCommand('zendesk.addConnection', { name: 'Limited simulator', url: limited.url, authKind: 'apiToken', email: limited.credentials.admin.email, token: limited.credentials.admin.token });
    await vscode.workspace.getConfiguration('zendesk').update('export.maxWaitMinutes', 1, vscode.ConfigurationTarget.Global);
    try {
      const uri = await writeQuery('max-wait', { name: 'Max wait', connection: 'Limited simulator', resource: 'tickets', pagination: 'cursor', startTime: 0 });
      const finished = await vscode.commands.executeCommand<ExportFinishedParams>('zendesk.runQuery', uri, { fresh: true });
      assert.equal(finished?.status, 'failed');
      assert.equal(finished.error?.code, 'rateLimited', JSON.stringify(finished.error));
      assert.match(finished.error.message, /^Zendesk asked to wait until \d{4}-\S+Z \(10 min\), longer than the 60 s an export waits at most; resume after that time/);
      // One request, no retry: it stopped at the Retry-After instead of waiting (the test's own
      // 90 s bound is shorter than the 10 min it was asked to wait).
      assert.equal(limited.stats().requestLog.filter((r) => r.url.includes('/incremental/')).length, 1, 'it stopped instead of waiting for a retry');
    } finally {
      await vscode.workspace.getConfiguration('zendesk').update('export.maxWaitMinutes', undefined, vscode.ConfigurationTarget.Global);
      await vscode.commands.executeCommand('zendesk.removeConnection', 'Limited simulator', { confirm: false });
      await limited.close();
    }
  });

  it('a second writer on the same output is refused with the engine\'s sentence naming the holder (locked)', async function () {
    this.timeout(120_000);
    const ext = await api();
    const output = { path: 'shared-output/tickets.jsonl' };
    const first = await writeQuery('writer-one', { name: 'Writer one', connection: SAFETY, resource: 'tickets', pagination: 'cursor', startTime: 0, params: { perPage: 50 }, output });
    const second = await writeQuery('writer-two', { name: 'Writer two', connection: SAFETY, resource: 'tickets', pagination: 'cursor', startTime: 0, params: { perPage: 50 }, output });
    sim.hold({ afterPages: 1, path: '/incremental/' });
    const running = vscode.commands.executeCommand<ExportFinishedParams>('zendesk.runQuery', first, { fresh: true });
    try {
      await sim.waitForHeld();
      const refused = await vscode.commands.executeCommand<ExportFinishedParams>('zendesk.resumeQuery', second);
      assert.equal(refused?.status, 'failed');
      assert.equal(refused.error?.code, 'locked', JSON.stringify(refused.error));
      const out = path.join(workspaceDir(), 'shared-output', 'tickets.jsonl');
      assert.match(refused.error.message, new RegExp(`^Another export is writing ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} right now \\(pid ${enginePids()[0]}, started \\S+: zdx-engine[^)]*\\); wait for it to finish or stop it`));
      assert.ok(!ext.sessions.list().some((s) => s.queryUri === second.toString() && s.status === 'running'), 'no second session');
    } finally {
      sim.release();
    }
    const done = await running;
    assert.equal(done?.status, 'done', JSON.stringify(done?.error));
    const got = versions(lines(done.outputPath), 'tickets/cursor');
    assert.deepEqual([...got].sort(), expectedVersions(sim, 'tickets/cursor').sort(), 'the first writer\'s output is whole');
  });

  it('a token is stored bound to its connection\'s host; one stored before that is bound on first use when the user settings name the same host', async function () {
    this.timeout(120_000);
    const ext = await api();
    assert.deepEqual(await ext.connections.getStoredToken(SAFETY), { token: sim.credentials.admin.token, origin: new URL(sim.url).origin });
    await vscode.commands.executeCommand('zendesk.test.storeUnboundToken', SAFETY, sim.credentials.admin.token);
    assert.deepEqual(await ext.connections.getStoredToken(SAFETY), { token: sim.credentials.admin.token });
    assert.equal(await vscode.commands.executeCommand('zendesk.testConnection', SAFETY), true, 'the old token still works where the user settings point');
    assert.deepEqual(await ext.connections.getStoredToken(SAFETY), { token: sim.credentials.admin.token, origin: new URL(sim.url).origin }, 'and is bound to that host now');
  });
});

describe('OAuth through the extension\'s provider (in the real extension host)', () => {
  const OAUTH = 'OAuth simulator';
  const settings = (): vscode.WorkspaceConfiguration => vscode.workspace.getConfiguration('zendesk');
  let oauthSim: RunningSimulator;
  /** The simulator's OAuth clock runs this far ahead: moving it expires every token at a moment the test picks. */
  let skewMs = 0;

  before(async function () {
    this.timeout(120_000);
    oauthSim = await startSimulator({ port: 0, seed: 31, counts: { tickets: 400 }, rateLimits: false, oauth: { now: () => Date.now() + skewMs } });
    const ext = await api();
    await until('the engine to start', () => ext.engine.isRunning, 60_000);
    const port = await freePort();
    await settings().update('oauth.redirect', 'loopback', vscode.ConfigurationTarget.Global);
    await settings().update('oauth.loopbackPort', port, vscode.ConfigurationTarget.Global);
    await vscode.commands.executeCommand('zendesk.addConnection', { name: OAUTH, url: oauthSim.url, authKind: 'oauth', oauthClientId: 'zdx-demo' });
  });

  after(async () => {
    oauthSim?.release();
    await vscode.commands.executeCommand('zendesk.signOut', OAUTH);
    await vscode.commands.executeCommand('zendesk.removeConnection', OAUTH, { confirm: false });
    await settings().update('oauth.redirect', undefined, vscode.ConfigurationTarget.Global);
    await settings().update('oauth.loopbackPort', undefined, vscode.ConfigurationTarget.Global);
    await oauthSim?.close();
  });

  it('signs in through the browser (loopback redirect): the authorization page is approved, the code exchanged once', async function () {
    this.timeout(120_000);
    const signingIn = vscode.commands.executeCommand<boolean>('zendesk.signIn', OAUTH);
    // The provider opens the authorization URL in the browser, which loads it from the simulator;
    // the test approves the same request (approve=1) and delivers the redirect to the host's listener.
    const asked = await until('the browser to load the authorization page', () => oauthSim.stats().requestLog.find((l) => l.url.startsWith('/oauth/authorizations/new?'))?.url, 60_000);
    const approved = await fetch(`${oauthSim.url}${asked}&approve=1`, { redirect: 'manual' });
    assert.equal(approved.status, 302, await approved.text());
    const landed = await fetch(approved.headers.get('location')!);
    assert.equal(landed.status, 200, await landed.text());
    assert.equal(await signingIn, true);
    const grants = oauthSim.stats().requestLog.filter((l) => l.url === '/oauth/tokens');
    assert.deepEqual(grants.map((g) => g.status), [200]);
  });

  it('three exports at once around two expiries: one refresh per expiry, no refresh token spent twice, every record once', async function () {
    this.timeout(300_000);
    const uris = await Promise.all(['a', 'b', 'c'].map((n) => writeQuery(`oauth-${n}`, { name: `OAuth ${n}`, connection: OAUTH, resource: 'tickets', pagination: 'cursor', startTime: 0, params: { perPage: 20 } })));
    const grantsBefore = oauthSim.stats().requestLog.filter((l) => l.url === '/oauth/tokens').length;
    const ext = await api();
    const hold = (afterPages: number): void => oauthSim.hold({ afterPages, path: '/tickets/cursor', maxHoldMs: 120_000 });
    // The engine sends one export request per account at a time (Zendesk counts parallel ones
    // against the same budget): the others wait behind the held one with the token they were given.
    hold(3);
    const runs = uris.map((uri) => vscode.commands.executeCommand<ExportFinishedParams>('zendesk.runQuery', uri, { fresh: true }));
    const pagesOf = (): number[] => uris.map((uri) => ext.sessions.list().find((x) => x.queryUri === uri.toString())?.counts.pages ?? 0);
    await until('every export to have written a page, and one request held', () => {
      if (oauthSim.heldRequests().length === 0) return false;
      if (pagesOf().every((n) => n >= 1)) return true;
      // One of them started late: let one more request through.
      oauthSim.release();
      hold(1);
      return false;
    }, 60_000);
    for (let expiry = 1; expiry <= 2; expiry++) {
      // Every token issued so far expires now; the held request was let in before, the next ones are refused.
      skewMs += 2 * 3600_000;
      oauthSim.release();
      if (expiry === 1) {
        hold(6);
        await oauthSim.waitForHeld(60_000);
        assert.ok(pagesOf().every((n) => n < 20), `every export is still running: ${pagesOf().join(', ')} pages of 20`);
      }
    }
    const finished = await Promise.all(runs);
    const want = expectedVersions(oauthSim, 'tickets/cursor');
    for (const f of finished) {
      assert.equal(f?.status, 'done', JSON.stringify(f?.error));
      assert.deepEqual([...versions(lines(f.outputPath), 'tickets/cursor')].sort(), [...want].sort(), `${f.outputPath}: every record once`);
    }
    const stats = oauthSim.stats();
    const grants = stats.requestLog.filter((l) => l.url === '/oauth/tokens').slice(grantsBefore);
    assert.deepEqual(grants.map((g) => g.status), [200, 200], 'one refresh per expiry, whatever the number of exports refused');
    assert.equal(stats.refreshTokenReuses, 0, 'no refresh token was presented twice');
    assert.equal(stats.byStatus[401], 6, 'each export was refused once per expiry');
    await Promise.all(finished.map((f) => rm(path.dirname(f.outputPath), { recursive: true, force: true })));
  });
});

/** A port on 127.0.0.1 that was free a moment ago. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}
