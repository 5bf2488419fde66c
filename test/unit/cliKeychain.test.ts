// `zdx auth` against a real Secret Service (gnome-keyring on a private D-Bus session). Run it
// under scripts/with-keyring.sh; without a Secret Service it fails, on purpose, with a message
// that says so: a skipped keychain test would hide a broken keychain path.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Entry } from '@napi-rs/keyring';
import { startSimulator } from '../../src/simulator/index';
import type { RunningSimulator } from '../../src/simulator/index';
import { KEYCHAIN_SERVICE } from '../../src/cli/keychain';
import { cleanEnv, expectedKeys, jsonlKeys, runCli } from '../support/cliProcess';

function secretServiceProblem(): string | null {
  try {
    const probe = new Entry('zdx-test-probe', 'probe', { linux: { store: 'secret-service' } });
    probe.getPassword();
    return null;
  } catch (err) {
    return err instanceof Error ? err.message.split('\n')[0] : String(err);
  }
}

describe('zdx auth with the OS keychain (Secret Service)', function () {
  this.timeout(120_000);
  let sim: RunningSimulator;
  let dir: string;
  /** No ZENDESK_* variables: credentials must come from the keychain. */
  let env: NodeJS.ProcessEnv;

  before(async function () {
    const problem = secretServiceProblem();
    if (problem) {
      throw new Error(`The Secret Service is not available (${problem}); run this test under scripts/with-keyring.sh (needs: apt-get install -y dbus gnome-keyring).`);
    }
    sim = await startSimulator({ seed: 5, counts: { tickets: 800 }, rateLimits: false });
    env = cleanEnv();
    dir = mkdtempSync(join(tmpdir(), 'zdx-keychain-'));
  });
  after(async () => {
    if (sim) {
      try { new Entry(KEYCHAIN_SERVICE, sim.url, { linux: { store: 'secret-service' } }).deleteCredential(); } catch { /* already gone */ }
      await sim.close();
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const stored = (): string | null => new Entry(KEYCHAIN_SERVICE, sim.url, { linux: { store: 'secret-service' } }).getPassword();

  it('login with a wrong token (piped on stdin) fails with exit 3 and stores nothing', async () => {
    const r = await runCli(['auth', 'login', '--email', sim.credentials.admin.email, '--url', sim.url], { cwd: dir, env, stdin: 'not-the-token\n' });
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stderr.split('\n').filter((l) => l.startsWith('zdx: ')).length, 1, `one failure sentence:\n${r.stderr}`);
    assert.ok(!r.stderr.includes('not-the-token') && !r.stdout.includes('not-the-token'));
    assert.equal(stored(), null);
  });

  it('login stores the token in the Secret Service; status names the source without the secret', async () => {
    const token = sim.credentials.admin.token;
    const r = await runCli(['auth', 'login', '--email', sim.credentials.admin.email, '--url', sim.url], { cwd: dir, env, stdin: `${token}\n` });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.stdout.includes(token) && !r.stderr.includes(token), 'the token was printed');
    const raw = stored();
    assert.ok(raw, 'nothing in the Secret Service');
    assert.deepEqual(JSON.parse(raw), { kind: 'apiToken', email: sim.credentials.admin.email, token });

    const s = await runCli(['auth', 'status', '--url', sim.url, '--verify'], { cwd: dir, env });
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stdout, /Credentials: OS keychain \(API token for admin@example\.com\)/);
    assert.match(s.stdout, /Verified: .*\(admin\)/);
    assert.ok(!s.stdout.includes(token) && !s.stderr.includes(token));

    // The environment wins over the keychain, and status says so.
    const e = await runCli(['auth', 'status', '--url', sim.url], { cwd: dir, env: cleanEnv({ ZENDESK_OAUTH_TOKEN: 'x' }) });
    assert.match(e.stdout, /ZENDESK_OAUTH_TOKEN/);
  });

  it('export uses the keychain token when the environment has none', async () => {
    const r = await runCli(['export', 'tickets', '--url', sim.url, '--out', 'k.jsonl'], { cwd: dir, env });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(jsonlKeys(join(dir, 'k.jsonl')).sort(), expectedKeys(sim.expected('tickets/cursor', { startTime: 0 })).sort());
  });

  it('an OAuth access token can be stored instead', async () => {
    const r = await runCli(['auth', 'login', '--oauth', '--url', sim.url], { cwd: dir, env, stdin: sim.credentials.admin.oauthToken });
    assert.equal(r.code, 0, r.stderr);
    const s = await runCli(['auth', 'status', '--url', sim.url, '--json'], { cwd: dir, env });
    const status = JSON.parse(s.stdout) as { source: string; description: string };
    assert.equal(status.source, 'keychain');
    assert.match(status.description, /OAuth/);
  });

  it('logout removes the entry; status and export then fail with exit 3', async () => {
    const r = await runCli(['auth', 'logout', '--url', sim.url], { cwd: dir, env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Removed/);
    assert.equal(stored(), null);
    const again = await runCli(['auth', 'logout', '--url', sim.url], { cwd: dir, env });
    assert.match(again.stdout, /No token was stored/);
    const s = await runCli(['auth', 'status', '--url', sim.url], { cwd: dir, env });
    assert.equal(s.code, 3);
    const x = await runCli(['export', 'tickets', '--url', sim.url, '--out', 'none.jsonl'], { cwd: dir, env });
    assert.equal(x.code, 3);
    assert.match(x.stderr, /^zdx: No credentials for /);
  });
});
