// Safe at the edges: one writer per output. Two `zdx` processes, `zdx` against the engine server,
// and a lock left behind by a killed process. The first writer is made to wait with the simulator's
// hold() (never a timer), so the second always arrives while the first is in the middle of its run.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ResponseError } from 'vscode-jsonrpc/node';
import { StartExport, type ResponseErrorData } from '../../src/protocol/customMessages';
import { startSimulator, type RunningSimulator } from '../../src/simulator/index';
import { cleanEnv, duplicates, readCsv, runCli, snapshot, startCli, type CliRun } from '../support/cliProcess';
import { startEngineServer, type EngineServer } from '../support/engineServer';
import { until } from '../support/until';

const FORMATS = ['jsonl', 'json', 'csv'] as const;
type Format = (typeof FORMATS)[number];

/** The output parses as its format: every JSONL line, the JSON array, every CSV row as wide as the header. Returns "id:ts" keys. */
function wellFormedKeys(file: string, format: Format): string[] {
  const text = readFileSync(file, 'utf8');
  if (format === 'jsonl') {
    return text.split('\n').filter(Boolean).map((line, i) => {
      let r: Record<string, unknown>;
      try {
        r = JSON.parse(line) as Record<string, unknown>;
      } catch {
        assert.fail(`line ${i + 1} of ${file} is not JSON: ${line.slice(0, 80)}`);
      }
      return `${String(r.id)}:${String(r.generated_timestamp)}`;
    });
  }
  if (format === 'json') {
    const arr = JSON.parse(text) as Record<string, unknown>[];
    assert.ok(Array.isArray(arr));
    return arr.map((r) => `${String(r.id)}:${String(r.generated_timestamp)}`);
  }
  const [header, ...rows] = readCsv(text.replace(/\r?\n$/, ''));
  rows.forEach((row, i) => assert.equal(row.length, header.length, `CSV row ${i + 1} has ${row.length} cells, the header ${header.length}`));
  const id = header.indexOf('id');
  const ts = header.indexOf('generated_timestamp');
  return rows.map((r) => `${r[id]}:${r[ts]}`);
}

/** The sentence a refused second writer gives, without the "zdx: " prefix: its only line on stderr. */
function refusalOf(stderr: string): string {
  // Only the refusal, after the note on what a small --per-page costs.
  const lines = stderr.split('\n').filter((l) => l.trim() && !l.startsWith('zdx: note: '));
  assert.equal(lines.length, 1, stderr);
  assert.ok(lines[0].startsWith('zdx: '), lines[0]);
  return lines[0].slice('zdx: '.length);
}

/** Waits (bounded) until the checkpoint counts `pages` pages: the run is then idle at its held request. */
async function checkpointPages(file: string, pages: number): Promise<void> {
  await until(`the checkpoint ${file} to count ${pages} pages`, () => {
    try {
      return (JSON.parse(readFileSync(file, 'utf8')) as { pages: number }).pages >= pages;
    } catch {
      return false; // not written yet
    }
  });
}

describe('safe at the edges: one writer', function () {
  this.timeout(180_000);
  let sim: RunningSimulator;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const running: CliRun[] = [];

  before(async () => {
    sim = await startSimulator({ seed: 9, counts: { tickets: 400 }, rateLimits: false });
    env = cleanEnv({ ZENDESK_EMAIL: sim.credentials.admin.email, ZENDESK_API_TOKEN: sim.credentials.admin.token });
  });
  after(async () => {
    await sim?.close();
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'zdx-safety-lock-'));
  });
  afterEach(async () => {
    sim.release();
    for (const r of running.splice(0)) {
      if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
      await r.done;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  const oracle = (): string[] => sim.expected('tickets/cursor', { startTime: 0 }).map((e) => `${e.id}:${e.ts}`).sort();
  const exportArgs = (format: Format): string[] => ['export', 'tickets', '--url', sim.url, '--start-time', '0', '--per-page', '50', '--out', `tickets.${format}`];

  for (const format of FORMATS) {
    it(`two zdx processes on the same ${format} output: the second refuses at once naming the first and writes nothing; the output stays well-formed`, async () => {
      sim.hold({ afterPages: 2, path: '/incremental/' });
      const first = startCli(exportArgs(format), { cwd: dir, env });
      running.push(first);
      await sim.waitForHeld();
      // The third request is held; the second page is written meanwhile: wait for its checkpoint.
      await checkpointPages(join(dir, 'tickets.checkpoint.json'), 2);
      const before = snapshot(dir);
      const asked = sim.stats().requests;

      const second = await runCli(exportArgs(format), { cwd: dir, env });
      assert.equal(second.code, 18, second.stderr);
      const sentence = refusalOf(second.stderr);
      const out = join(dir, `tickets.${format}`);
      assert.equal(sentence, `Another export is writing ${out} right now (pid ${first.child.pid}, started ${JSON.parse(readFileSync(`${join(dir, 'tickets.checkpoint.json')}.lock`, 'utf8')).startedAt}: zdx ${exportArgs(format).join(' ')}); wait for it to finish or stop it — if it is gone, delete ${join(dir, 'tickets.checkpoint.json.lock')}.`);
      assert.deepEqual(snapshot(dir), before, 'the refused run wrote nothing');
      assert.equal(sim.stats().requests, asked, 'the refused run asked Zendesk for nothing');

      sim.release();
      const done = await first.done;
      assert.equal(done.code, 0, done.stderr);
      const keys = wellFormedKeys(out, format);
      assert.deepEqual(duplicates(keys), []);
      assert.deepEqual([...keys].sort(), oracle());
      assert.ok(!existsSync(join(dir, 'tickets.checkpoint.json.lock')), 'the lock is gone after the run');
    });
  }

  it('zdx while the engine server runs the same query refuses with the same sentence the server gives, and the other way round', async () => {
    const ws = join(dir, 'ws');
    mkdirSync(ws);
    const queryFile = join(ws, 'shared.zdquery.json');
    writeFileSync(queryFile, JSON.stringify({ name: 'Shared', connection: 'sim', resource: 'tickets', pagination: 'cursor', startTime: 0, params: { perPage: 50 }, output: { path: 'out/shared.jsonl' } }));
    const out = join(ws, 'out', 'shared.jsonl');
    const lock = join(ws, 'out', 'shared.checkpoint.json.lock');
    const server: EngineServer = await startEngineServer({
      workspace: ws,
      connections: [{ name: 'sim', baseUrl: sim.url, auth: 'apiToken', email: sim.credentials.admin.email }],
      credentials: () => ({ secret: sim.credentials.admin.token }),
    });
    try {
      // (1) The editor's engine is writing: zdx from cron is refused, naming the engine.
      sim.hold({ afterPages: 1, path: '/incremental/' });
      const started = await server.rpc.sendRequest(StartExport.type, { queryUri: pathToFileURL(queryFile).toString(), sessionId: 'editor-1' });
      assert.equal(started.outputPath, out);
      await sim.waitForHeld();
      const cron = await runCli(['run', queryFile, '--url', sim.url], { cwd: dir, env });
      assert.equal(cron.code, 18, cron.stderr);
      const holder = JSON.parse(readFileSync(lock, 'utf8')) as { pid: number; startedAt: string; command: string };
      assert.equal(holder.pid, server.child.pid);
      assert.equal(refusalOf(cron.stderr), `Another export is writing ${out} right now (pid ${server.child.pid}, started ${holder.startedAt}: zdx-engine --stdio); wait for it to finish or stop it — if it is gone, delete ${lock}.`);
      sim.release();
      const finished = await server.waitFor('the editor\'s run', () => server.finished.find((f) => f.sessionId === 'editor-1'), 60_000);
      assert.equal(finished.status, 'done', JSON.stringify(finished.error));

      // (2) zdx is writing (a resume: its first request is held): the editor's Start is refused with the sentence a second zdx gets.
      sim.hold({ path: '/incremental/' });
      const zdx = startCli(['run', queryFile, '--url', sim.url], { cwd: dir, env });
      running.push(zdx);
      await sim.waitForHeld();
      const second = await runCli(['run', queryFile, '--url', sim.url], { cwd: dir, env });
      assert.equal(second.code, 18, second.stderr);
      let refused: ResponseError<ResponseErrorData> | undefined;
      await server.rpc.sendRequest(StartExport.type, { queryUri: pathToFileURL(queryFile).toString(), sessionId: 'editor-2' }).catch((err: unknown) => {
        refused = err as ResponseError<ResponseErrorData>;
      });
      assert.ok(refused, 'the editor\'s start was refused');
      assert.equal(refused.data?.code, 'locked');
      assert.equal(refused.message, refusalOf(second.stderr), 'the same sentence in the editor as in the terminal');
      assert.match(refused.message, new RegExp(`\\(pid ${zdx.child.pid}, started \\S+: zdx run `));
      sim.release();
      assert.equal((await zdx.done).code, 0);
      const keys = wellFormedKeys(out, 'jsonl');
      assert.deepEqual(duplicates(keys), []);
      assert.deepEqual([...keys].sort(), oracle());
    } finally {
      sim.release();
      await server.stop();
    }
  });

  it('a stale lock left by a killed zdx is taken over, and the rerun completes with a well-formed output', async () => {
    sim.hold({ afterPages: 2, path: '/incremental/' });
    const killed = startCli(exportArgs('jsonl'), { cwd: dir, env });
    running.push(killed);
    await sim.waitForHeld();
    const lock = join(dir, 'tickets.checkpoint.json.lock');
    assert.equal((JSON.parse(readFileSync(lock, 'utf8')) as { pid: number }).pid, killed.child.pid);
    killed.child.kill('SIGKILL');
    await killed.done;
    sim.release();
    assert.ok(existsSync(lock), 'a killed process leaves its lock behind');

    const rerun = await runCli(exportArgs('jsonl'), { cwd: dir, env });
    assert.equal(rerun.code, 0, rerun.stderr);
    const keys = wellFormedKeys(join(dir, 'tickets.jsonl'), 'jsonl');
    assert.deepEqual(duplicates(keys), []);
    assert.deepEqual([...keys].sort(), oracle());
    assert.ok(!existsSync(lock));
  });
});
