// `zdx auth login --oauth` / `--client-credentials` end to end: the real CLI as a child process, the
// simulator's OAuth server, and a real Secret Service. The test plays the browser: it reads the URL
// the CLI prints, approves on the authorization page and follows the redirect to the CLI's loopback
// listener. Run under scripts/with-keyring.sh (like cliKeychain.test.ts); without a Secret Service it
// fails on purpose.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Entry } from '@napi-rs/keyring';
import { KEYCHAIN_SERVICE } from '../../src/cli/keychain';
import { DEFAULT_LOOPBACK_REDIRECT_PORT } from '../../src/engine/zendesk';
import { EPOCH, startSimulator, type RunningSimulator, type SimulatorOptions } from '../../src/simulator/index';
import { cleanEnv, duplicates, expectedKeys, jsonlKeys, runCli, startCli, type CliResult } from '../support/cliProcess';

function secretServiceProblem(): string | null {
  try {
    new Entry('zdx-test-probe', 'probe', { linux: { store: 'secret-service' } }).getPassword();
    return null;
  } catch (err) {
    return err instanceof Error ? err.message.split('\n')[0] : String(err);
  }
}

interface StoredEntry { kind: string; accessToken: string; refreshToken?: string; clientId?: string; clientSecret?: string; grant?: string; expiresAt?: number; scopes?: string[] }

describe('zdx auth login with OAuth (browser + PKCE, client credentials)', function () {
  this.timeout(120_000);
  let sim: RunningSimulator | undefined;
  let dir: string;
  const env = cleanEnv();

  before(function () {
    const problem = secretServiceProblem();
    if (problem) throw new Error(`The Secret Service is not available (${problem}); run this test under scripts/with-keyring.sh (needs: apt-get install -y dbus gnome-keyring).`);
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'zdx-oauth-cli-'));
  });
  afterEach(async () => {
    if (sim) {
      try { entry(sim).deleteCredential(); } catch { /* already gone */ }
      await sim.close();
      sim = undefined;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  const entry = (s: RunningSimulator): Entry => new Entry(KEYCHAIN_SERVICE, s.url, { linux: { store: 'secret-service' } });
  const stored = (s: RunningSimulator): StoredEntry | null => {
    const raw = entry(s).getPassword();
    return raw ? JSON.parse(raw) as StoredEntry : null;
  };
  /** Makes the stored access token look expired to zdx (its expiresAt in the past), as time passing would. */
  const expireStored = (s: RunningSimulator): void => {
    entry(s).setPassword(JSON.stringify({ ...stored(s), expiresAt: Date.now() - 1000 }));
  };

  async function start(opts: SimulatorOptions = {}): Promise<RunningSimulator> {
    sim = await startSimulator({ seed: 11, counts: { tickets: 300 }, rateLimits: false, ...opts });
    return sim;
  }

  /**
   * Starts `zdx auth login --oauth`, waits for the printed authorization URL, lets `browser` decide what
   * to do with it, and returns the CLI's result plus what the browser saw.
   */
  async function login(s: RunningSimulator, browser: (authorizeUrl: string) => Promise<void>, extra: string[] = [], clientId = 'zdx-demo'): Promise<CliResult> {
    // Any free port (the simulator's clients accept any loopback port): the default one may be taken on a shared machine.
    const port = extra.includes('--port') ? [] : ['--port', '0'];
    const cli = startCli(['auth', 'login', '--oauth', '--client-id', clientId, '--url', s.url, '--no-browser', ...port, ...extra], { cwd: dir, env: cleanEnv({ ZDX_OAUTH_TIMEOUT_SECONDS: '30' }) });
    let stderr = '';
    const url = await new Promise<string>((resolve, reject) => {
      cli.child.stderr!.on('data', (chunk: string) => {
        stderr += chunk;
        const m = /^(http:\/\/127\.0\.0\.1:\d+\/oauth\/authorizations\/new\?\S+)$/m.exec(stderr);
        if (m) resolve(m[1]);
      });
      void cli.done.then((r) => reject(new Error(`the CLI ended before printing a URL: ${r.stderr}`)));
    });
    await browser(url);
    return cli.done;
  }

  /** Approves on the authorization page (the form's Allow button); returns the redirect target. */
  async function approve(url: string): Promise<URL> {
    const html = await (await fetch(url)).text();
    const form = new URLSearchParams();
    for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) form.set(m[1], m[2].replace(/&amp;/g, '&').replace(/&quot;/g, '"'));
    form.set('decision', 'allow');
    const res = await fetch(new URL(/<form method="post" action="([^"]+)"/.exec(html)![1], url), { method: 'POST', body: form, redirect: 'manual' });
    assert.equal(res.status, 302, await res.text());
    return new URL(res.headers.get('location')!);
  }

  /** The browser arriving at the CLI's loopback listener. */
  async function follow(target: URL): Promise<{ status: number; text: string }> {
    const res = await fetch(target);
    return { status: res.status, text: await res.text() };
  }

  const noSecrets = (r: CliResult, ...secrets: (string | undefined)[]): void => {
    for (const x of secrets) if (x) assert.ok(!r.stdout.includes(x) && !r.stderr.includes(x), 'a secret was printed');
  };

  it('signs in through the browser, stores access + refresh token in the keychain, and exports with them', async () => {
    const s = await start();
    let page = { status: 0, text: '' };
    const r = await login(s, async (url) => {
      const u = new URL(url);
      assert.equal(u.searchParams.get('code_challenge_method'), 'S256');
      assert.match(u.searchParams.get('redirect_uri')!, /^http:\/\/127\.0\.0\.1:\d+\/callback$/);
      page = await follow(await approve(url));
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(page.status, 200);
    assert.match(page.text, /Signed in/);
    const e = stored(s);
    assert.ok(e, 'nothing stored');
    assert.equal(e.kind, 'oauth');
    assert.equal(e.grant, 'authorization_code');
    assert.equal(e.clientId, 'zdx-demo');
    assert.ok(e.refreshToken && e.expiresAt);
    assert.deepEqual(e.scopes, ['read']);
    noSecrets(r, e.accessToken, e.refreshToken);

    const x = await runCli(['export', 'tickets', '--url', s.url, '--out', 'a.jsonl'], { cwd: dir, env });
    assert.equal(x.code, 0, x.stderr);
    assert.deepEqual(jsonlKeys(join(dir, 'a.jsonl')), expectedKeys(s.expected('tickets/cursor', { startTime: EPOCH })));
    const status = await runCli(['auth', 'status', '--url', s.url, '--verify'], { cwd: dir, env });
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /OAuth/);
  });

  it('an access token that expires mid-export is refreshed, the rotated pair is saved, no page lost or repeated', async () => {
    // Tokens expire when the test says: the simulator's OAuth clock jumps, and zdx's stored
    // expiry is moved into the past; no lifetime races the login or the run on a busy machine.
    let skewMs = 0;
    const s = await start({ oauth: { now: () => Date.now() + skewMs } });
    const r = await login(s, async (url) => void await follow(await approve(url)));
    assert.equal(r.code, 0, r.stderr);
    const before = stored(s)!;
    // Already expired at the start (zdx renews before its first request), and again during the
    // run: the export is held after four pages while every token expires.
    skewMs += 2 * 3600_000;
    expireStored(s);
    s.hold({ afterPages: 4, path: '/tickets/cursor' });
    const running = runCli(['export', 'tickets', '--url', s.url, '--per-page', '25', '--out', 'b.jsonl'], { cwd: dir, env });
    await s.waitForHeld(60_000);
    skewMs += 2 * 3600_000;
    s.release();
    const x = await running;
    assert.equal(x.code, 0, x.stderr);
    assert.equal(s.stats().byStatus[401], 1, 'refused once, mid-run; the expiry at the start was seen before asking');
    assert.deepEqual(s.stats().requestLog.filter((l) => l.url === '/oauth/tokens').map((l) => l.status), [200, 200, 200], 'the sign-in and one refresh per expiry');
    assert.equal(s.stats().refreshTokenReuses, 0);
    const keys = jsonlKeys(join(dir, 'b.jsonl'));
    assert.deepEqual(duplicates(keys), []);
    assert.deepEqual(keys, expectedKeys(s.expected('tickets/cursor', { startTime: EPOCH })));
    const after = stored(s)!;
    assert.notEqual(after.refreshToken, before.refreshToken, 'the rotated refresh token was not saved');
    noSecrets(x, before.accessToken, before.refreshToken, after.accessToken, after.refreshToken);
    // The old refresh token is dead (rotation), the saved one works: a second run refreshes with it.
    skewMs += 2 * 3600_000;
    expireStored(s);
    const again = await runCli(['export', 'tickets', '--url', s.url, '--per-page', '100', '--out', 'b2.jsonl'], { cwd: dir, env });
    assert.equal(again.code, 0, again.stderr);
  });

  it('the redirect URL to register is the fixed loopback one, named in --help', async () => {
    const r = await runCli(['auth', 'login', '--help'], { cwd: dir, env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /http:\/\/127\.0\.0\.1:47615\/callback/);
    assert.match(r.stdout, /--port N/);
  });

  it('a busy redirect port: one sentence naming the port, --port, and the URL to register; nothing stored', async () => {
    const s = await start();
    // Occupy the default port; when something else already holds it, it is just as busy.
    const blocker = createServer();
    await new Promise<void>((resolve) => {
      blocker.once('error', () => resolve());
      blocker.listen(DEFAULT_LOOPBACK_REDIRECT_PORT, '127.0.0.1', () => resolve());
    });
    try {
      const r = await runCli(['auth', 'login', '--oauth', '--client-id', 'zdx-demo', '--url', s.url, '--no-browser'], { cwd: dir, env });
      assert.equal(r.code, 17, r.stderr);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], /^zdx: Port 47615 on 127\.0\.0\.1 is already in use .*--port N .*register http:\/\/127\.0\.0\.1:N\/callback as a redirect URL on the OAuth client\.$/);
      assert.equal(stored(s), null);
      assert.equal(s.stats().requests, 0, 'the CLI talked to Zendesk before it could receive the redirect');
    } finally {
      await new Promise<void>((resolve) => (blocker.listening ? blocker.close(() => resolve()) : resolve()));
    }
  });

  it('a mismatched state is refused: clear error, nothing stored', async () => {
    const s = await start();
    let page = { status: 0, text: '' };
    const r = await login(s, async (url) => {
      const target = await approve(url);
      target.searchParams.set('state', 'forged-state');
      page = await follow(target);
    });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /^zdx: The sign-in answer did not carry the state this sign-in sent/m);
    assert.equal(page.status, 400);
    assert.equal(stored(s), null);
  });

  it('a code bound to another PKCE challenge (wrong verifier) is refused: clear error, nothing stored', async () => {
    const s = await start();
    const r = await login(s, async (url) => {
      const u = new URL(url);
      u.searchParams.set('code_challenge', 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
      await follow(await approve(u.toString()));
    });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /PKCE verifier does not match/);
    assert.equal(stored(s), null);
  });

  it('an expired authorization code is refused: clear error, nothing stored', async () => {
    let now = Date.now();
    const s = await start({ oauth: { codeTtlSeconds: 120, now: () => now } });
    const r = await login(s, async (url) => {
      const target = await approve(url);
      now += 121_000;
      await follow(target);
    });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /refused the authorization code: it expired/);
    assert.equal(stored(s), null);
  });

  it('a client without the read scope: exit 4 naming the scope, the token is revoked, nothing stored', async () => {
    const s = await start({ oauth: { clients: [{ id: 'zdx-writer', scopes: ['write'] }] } });
    const r = await login(s, async (url) => void await follow(await approve(url)), [], 'zdx-writer');
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /"zdx-writer" was granted no "read" scope/);
    assert.equal(stored(s), null);
    assert.ok(s.stats().requestLog.some((l) => l.method === 'DELETE' && l.url.startsWith('/api/v2/oauth/tokens/current')), 'the token was not revoked');
  });

  it('a revoked refresh token: the export fails with exit 3 asking to sign in again, and writes nothing', async () => {
    const s = await start();
    const signedIn = await login(s, async (url) => void await follow(await approve(url)));
    assert.equal(signedIn.code, 0, signedIn.stderr);
    const e = stored(s)!;
    // Revoking the access token at Zendesk kills its refresh token too.
    assert.equal((await fetch(`${s.url}/api/v2/oauth/tokens/current.json`, { method: 'DELETE', headers: { authorization: `Bearer ${e.accessToken}` } })).status, 204);
    expireStored(s);
    const x = await runCli(['export', 'tickets', '--url', s.url, '--out', 'c.jsonl'], { cwd: dir, env });
    assert.equal(x.code, 3, x.stderr);
    assert.match(x.stderr, /^zdx: .*refresh token: it expired or was revoked; sign in again\.$/m);
    assert.equal(existsSync(join(dir, 'c.jsonl')), false);
    noSecrets(x, e.accessToken, e.refreshToken);
  });

  it('logout revokes the OAuth token at Zendesk and removes the entry', async () => {
    const s = await start();
    const signedIn = await login(s, async (url) => void await follow(await approve(url)));
    assert.equal(signedIn.code, 0, signedIn.stderr);
    const e = stored(s)!;
    const r = await runCli(['auth', 'logout', '--url', s.url], { cwd: dir, env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Revoked/);
    assert.equal(stored(s), null);
    const me = await fetch(`${s.url}/api/v2/users/me.json`, { headers: { authorization: `Bearer ${e.accessToken}` } });
    assert.equal(me.status, 401);
  });

  it('logout after the access token expired still revokes the sign-in (renews, then revokes), leaving no live refresh token', async () => {
    let skewMs = 0;
    const s = await start({ oauth: { now: () => Date.now() + skewMs } });
    const signedIn = await login(s, async (url) => void await follow(await approve(url)));
    assert.equal(signedIn.code, 0, signedIn.stderr);
    const e = stored(s)!;
    skewMs += 2 * 3600_000;
    expireStored(s);
    const r = await runCli(['auth', 'logout', '--url', s.url], { cwd: dir, env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Revoked/);
    assert.ok(s.stats().requestLog.some((l) => l.method === 'DELETE' && l.url.startsWith('/api/v2/oauth/tokens/current') && l.status === 204));
    const reuse = await fetch(`${s.url}/oauth/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ grant_type: 'refresh_token', client_id: 'zdx-demo', refresh_token: e.refreshToken }) });
    assert.equal(reuse.status, 400);
    assert.equal(stored(s), null);
  });

  describe('client credentials', () => {
    const clients = [{ id: 'zdx-ci', secret: 'ci-secret-value', scopes: ['read'] }];

    it('login --client-credentials stores the token and the secret; runs renew it when it expires', async () => {
      let skewMs = 0;
      const s = await start({ oauth: { clients, now: () => Date.now() + skewMs } });
      const r = await runCli(['auth', 'login', '--client-credentials', '--client-id', 'zdx-ci', '--url', s.url], { cwd: dir, env, stdin: 'ci-secret-value\n' });
      assert.equal(r.code, 0, r.stderr);
      const e = stored(s)!;
      assert.equal(e.grant, 'client_credentials');
      assert.equal(e.clientSecret, 'ci-secret-value');
      assert.equal(e.refreshToken, undefined);
      noSecrets(r, 'ci-secret-value', e.accessToken);
      skewMs += 2 * 3600_000;
      expireStored(s);
      const x = await runCli(['export', 'tickets', '--url', s.url, '--out', 'd.jsonl'], { cwd: dir, env });
      assert.equal(x.code, 0, x.stderr);
      assert.deepEqual(jsonlKeys(join(dir, 'd.jsonl')), expectedKeys(s.expected('tickets/cursor', { startTime: EPOCH })));
      assert.notEqual(stored(s)!.accessToken, e.accessToken);
    });

    it('unattended: ZENDESK_OAUTH_CLIENT_ID + ZENDESK_OAUTH_CLIENT_SECRET export without any keychain entry', async () => {
      const s = await start({ oauth: { clients } });
      const ciEnv = cleanEnv({ ZENDESK_OAUTH_CLIENT_ID: 'zdx-ci', ZENDESK_OAUTH_CLIENT_SECRET: 'ci-secret-value' });
      const x = await runCli(['export', 'tickets', '--url', s.url, '--out', 'e.jsonl'], { cwd: dir, env: ciEnv });
      assert.equal(x.code, 0, x.stderr);
      assert.deepEqual(jsonlKeys(join(dir, 'e.jsonl')), expectedKeys(s.expected('tickets/cursor', { startTime: EPOCH })));
      assert.equal(stored(s), null);
      assert.equal(s.stats().byStatus[401] ?? 0, 0, 'the run started with a request bound to fail');
      const st = await runCli(['auth', 'status', '--url', s.url], { cwd: dir, env: ciEnv });
      assert.match(st.stdout, /client credentials of "zdx-ci"/);
    });

    it('a wrong secret: exit 3 naming the client, nothing stored, the secret never printed', async () => {
      const s = await start({ oauth: { clients } });
      const r = await runCli(['auth', 'login', '--client-credentials', '--client-id', 'zdx-ci', '--url', s.url], { cwd: dir, env: cleanEnv({ ZENDESK_OAUTH_CLIENT_SECRET: 'not-the-secret' }) });
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, /did not accept the OAuth client "zdx-ci"/);
      noSecrets(r, 'not-the-secret');
      assert.equal(stored(s), null);
    });
  });
});
