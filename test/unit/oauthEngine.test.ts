// Zendesk OAuth in the engine against the simulator's OAuth server, over real loopback HTTP: the
// test plays the browser (fetches the authorization page, clicks Allow, reads the redirect).
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { endpointById, checkConnection, type Credentials, authorizeUrl, clientCredentialsToken, createPkce, createState, exchangeCode, missingScopes, needsRefresh, OAuthTokenKeeper, pkceChallenge, readAuthorizationResponse, refreshAccessToken, revokeAccessToken, type OAuthTokens } from '../../src/engine/zendesk';
import { checkpointPathFor, runExport } from '../../src/engine/export';
import { AuthSession } from '../../src/engine/zendesk/auth';
import { ExportError } from '../../src/engine/errors';
import type { ResolvedQuery } from '../../src/engine/query';
import { EPOCH, startSimulator, type RunningSimulator, type SimulatorOptions } from '../../src/simulator/index';

const REDIRECT = 'http://127.0.0.1:9/callback';

let sim: RunningSimulator | undefined;
let dir = '';

async function start(opts: SimulatorOptions = {}): Promise<RunningSimulator> {
  sim = await startSimulator({ seed: 3, counts: { tickets: 300 }, rateLimits: false, ...opts });
  return sim;
}

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'zdx-oauth-'));
});
afterEach(async () => {
  await sim?.close();
  sim = undefined;
  await fs.rm(dir, { recursive: true, force: true });
});

async function rejects(p: Promise<unknown>, code: string, re: RegExp): Promise<ExportError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ExportError, `expected an ExportError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.match(err.message, re);
    return err;
  }
  assert.fail('expected a rejection');
}

/** The browser: loads the authorization page, submits its form with Allow (or Deny), returns the redirect's query. */
async function approveInBrowser(url: string, decision: 'allow' | 'deny' = 'allow'): Promise<URLSearchParams> {
  const pageRes = await fetch(url);
  assert.equal(pageRes.status, 200, await pageRes.clone().text());
  const html = await pageRes.text();
  assert.match(html, /<button[^>]*value="allow"/);
  const form = new URLSearchParams();
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    form.set(m[1], m[2].replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&'));
  }
  form.set('decision', decision);
  const action = new URL(/<form method="post" action="([^"]+)"/.exec(html)![1], url);
  const res = await fetch(action, { method: 'POST', body: form, redirect: 'manual' });
  assert.equal(res.status, 302);
  const location = new URL(res.headers.get('location')!);
  assert.equal(`${location.origin}${location.pathname}`, REDIRECT);
  return location.searchParams;
}

async function signIn(s: RunningSimulator, clientId = 'zdx-demo', scopes = ['read']): Promise<OAuthTokens> {
  const pkce = createPkce();
  const state = createState();
  const params = await approveInBrowser(authorizeUrl({ baseUrl: s.url, clientId, redirectUri: REDIRECT, scopes, state, codeChallenge: pkce.challenge }));
  const { code } = readAuthorizationResponse(params, state);
  return exchangeCode({ baseUrl: s.url, clientId }, { code, redirectUri: REDIRECT, codeVerifier: pkce.verifier });
}

function ticketsQuery(perPage: number): ResolvedQuery {
  const form = endpointById('tickets/cursor')!;
  return {
    name: 'oauth-tickets', resource: form.resource, endpointId: 'tickets/cursor', startTime: EPOCH, params: { perPage },
    output: { path: path.join(dir, 'out', 'tickets.jsonl'), format: 'jsonl' }, digest: `oauth-${perPage}`,
  };
}

async function keys(file: string): Promise<string[]> {
  return (await fs.readFile(file, 'utf8')).split('\n').filter(Boolean).map((l) => {
    const r = JSON.parse(l) as { id: number; generated_timestamp: number };
    return `${r.id}:${r.generated_timestamp}`;
  });
}

describe('engine OAuth: PKCE, state, URLs', () => {
  it('computes the RFC 7636 S256 challenge and makes fresh verifiers and states', () => {
    assert.equal(pkceChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'), 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
    const a = createPkce();
    const b = createPkce();
    assert.match(a.verifier, /^[A-Za-z0-9_-]{43,128}$/);
    assert.notEqual(a.verifier, b.verifier);
    assert.equal(a.challenge, pkceChallenge(a.verifier));
    assert.notEqual(createState(), createState());
  });

  it('builds the authorization URL on the account origin and refuses plain http elsewhere', () => {
    const u = new URL(authorizeUrl({ baseUrl: 'https://acme.zendesk.com/some/path', clientId: 'c', redirectUri: REDIRECT, scopes: ['read', 'write'], state: 's', codeChallenge: 'x' }));
    assert.equal(u.origin + u.pathname, 'https://acme.zendesk.com/oauth/authorizations/new');
    assert.deepEqual(Object.fromEntries(u.searchParams), {
      response_type: 'code', client_id: 'c', redirect_uri: REDIRECT, scope: 'read write', state: 's', code_challenge: 'x', code_challenge_method: 'S256',
    });
    assert.throws(() => authorizeUrl({ baseUrl: 'http://acme.example.com', clientId: 'c', redirectUri: REDIRECT, scopes: [], state: 's', codeChallenge: 'x' }),
      (e: unknown) => e instanceof ExportError && e.code === 'insecureUrl');
  });

  it('a token request to a non-loopback http origin is refused before anything is sent', async () => {
    await rejects(refreshAccessToken({ baseUrl: 'http://zendesk.example.com', clientId: 'c' }, 'r'), 'insecureUrl', /plain HTTP/);
  });

  it('rejects a redirect whose state does not match, and reports a denial', () => {
    assert.throws(() => readAuthorizationResponse(new URLSearchParams({ code: 'c', state: 'other' }), 'mine'), /did not carry the state/);
    assert.throws(() => readAuthorizationResponse(new URLSearchParams({ code: 'c' }), 'mine'), /did not carry the state/);
    assert.throws(() => readAuthorizationResponse(new URLSearchParams({ error: 'access_denied', state: 'mine' }), 'mine'), /denied/);
    assert.deepEqual(readAuthorizationResponse(new URLSearchParams({ code: 'c', state: 'mine' }), 'mine'), { code: 'c' });
  });

  it('refreshes ahead of expiry: a fifth of the lifetime, at most a minute', () => {
    assert.equal(needsRefresh({ obtainedAt: 0, expiresAt: 1_800_000 }, 1_739_000), false);
    assert.equal(needsRefresh({ obtainedAt: 0, expiresAt: 1_800_000 }, 1_740_000), true);
    assert.equal(needsRefresh({ obtainedAt: 0, expiresAt: 10_000 }, 7_900), false);
    assert.equal(needsRefresh({ obtainedAt: 0, expiresAt: 10_000 }, 8_000), true);
    assert.equal(needsRefresh({ obtainedAt: 0 }, Number.MAX_SAFE_INTEGER), false);
  });
});

describe('engine OAuth against the simulator', function () {
  this.timeout(60_000);

  it('authorization code + PKCE: approve in the browser, exchange, call the API with the bearer token', async () => {
    const s = await start();
    const before = Date.now();
    const tokens = await signIn(s);
    assert.match(tokens.accessToken, /\S{20,}/);
    assert.ok(tokens.refreshToken);
    assert.deepEqual(tokens.scopes, ['read']);
    assert.ok(tokens.expiresAt! >= before + 1_799_000 && tokens.expiresAt! <= Date.now() + 1_800_000);
    const { user } = await checkConnection({ baseUrl: s.url, credentials: { kind: 'oauth', accessToken: tokens.accessToken } });
    assert.equal(user.role, 'admin');
  });

  it('a wrong PKCE verifier is invalid_grant, and the code cannot be used again', async () => {
    const s = await start();
    const pkce = createPkce();
    const state = createState();
    const params = await approveInBrowser(authorizeUrl({ baseUrl: s.url, clientId: 'zdx-demo', redirectUri: REDIRECT, scopes: ['read'], state, codeChallenge: pkce.challenge }));
    const { code } = readAuthorizationResponse(params, state);
    const err = await rejects(exchangeCode({ baseUrl: s.url, clientId: 'zdx-demo' }, { code, redirectUri: REDIRECT, codeVerifier: createPkce().verifier }), 'auth', /PKCE verifier does not match/);
    assert.equal(err.details, 'invalid_grant');
    await rejects(exchangeCode({ baseUrl: s.url, clientId: 'zdx-demo' }, { code, redirectUri: REDIRECT, codeVerifier: pkce.verifier }), 'auth', /authorization code/);
  });

  it('an expired authorization code is refused', async () => {
    let now = Date.now();
    const s = await start({ oauth: { codeTtlSeconds: 120, now: () => now } });
    const pkce = createPkce();
    const state = createState();
    const params = await approveInBrowser(authorizeUrl({ baseUrl: s.url, clientId: 'zdx-demo', redirectUri: REDIRECT, scopes: ['read'], state, codeChallenge: pkce.challenge }));
    now += 121_000;
    await rejects(exchangeCode({ baseUrl: s.url, clientId: 'zdx-demo' }, { code: readAuthorizationResponse(params, state).code, redirectUri: REDIRECT, codeVerifier: pkce.verifier }),
      'auth', /expired/);
  });

  it('Deny on the authorization page comes back as access_denied', async () => {
    const s = await start();
    const state = createState();
    const params = await approveInBrowser(authorizeUrl({ baseUrl: s.url, clientId: 'zdx-demo', redirectUri: REDIRECT, scopes: ['read'], state, codeChallenge: createPkce().challenge }), 'deny');
    assert.throws(() => readAuthorizationResponse(params, state), /Access was denied/);
  });

  it('an unknown client id is refused at the token endpoint with a sentence naming the client', async () => {
    const s = await start();
    await rejects(exchangeCode({ baseUrl: s.url, clientId: 'nope' }, { code: 'x', redirectUri: REDIRECT, codeVerifier: 'v' }), 'auth', /did not accept the OAuth client "nope"/);
  });

  it('refresh rotates the pair: the old refresh token and the old access token stop working', async () => {
    const s = await start();
    const first = await signIn(s);
    const second = await refreshAccessToken({ baseUrl: s.url, clientId: 'zdx-demo' }, first.refreshToken!);
    assert.notEqual(second.accessToken, first.accessToken);
    assert.notEqual(second.refreshToken, first.refreshToken);
    await rejects(checkConnection({ baseUrl: s.url, credentials: { kind: 'oauth', accessToken: first.accessToken } }), 'auth', /./);
    await checkConnection({ baseUrl: s.url, credentials: { kind: 'oauth', accessToken: second.accessToken } });
    assert.equal(s.stats().refreshTokenReuses, 0);
  });

  it('revoking the access token also kills its refresh token', async () => {
    const s = await start();
    const t = await signIn(s);
    await revokeAccessToken(s.url, t.accessToken);
    await rejects(checkConnection({ baseUrl: s.url, credentials: { kind: 'oauth', accessToken: t.accessToken } }), 'auth', /./);
    await rejects(refreshAccessToken({ baseUrl: s.url, clientId: 'zdx-demo' }, t.refreshToken!), 'auth', /revoked/);
    // Revoking again is not an error (already gone).
    await revokeAccessToken(s.url, t.accessToken);
  });

  it('client credentials: a confidential client gets a token without a browser; wrong secret and public clients are refused', async () => {
    const s = await start({ oauth: { clients: [{ id: 'zdx-ci', secret: 'ci-secret', scopes: ['read'] }] } });
    const t = await clientCredentialsToken({ baseUrl: s.url, clientId: 'zdx-ci', clientSecret: 'ci-secret' });
    assert.equal(t.refreshToken, undefined);
    assert.deepEqual(t.scopes, ['read']);
    await checkConnection({ baseUrl: s.url, credentials: { kind: 'oauth', accessToken: t.accessToken } });
    const wrong = await rejects(clientCredentialsToken({ baseUrl: s.url, clientId: 'zdx-ci', clientSecret: 'guess' }), 'auth', /"zdx-ci".*secret/);
    assert.ok(!wrong.message.includes('guess'));
    await rejects(clientCredentialsToken({ baseUrl: s.url, clientId: 'zdx-demo', clientSecret: 'x' }), 'auth', /did not accept|grant type/);
    await rejects(clientCredentialsToken({ baseUrl: s.url, clientId: 'zdx-ci' }), 'auth', /needs the secret/);
  });

  it('a token without the read scope: missingScopes says so, and an export fails with 403 forbidden naming the scope', async () => {
    const s = await start({ oauth: { clients: [{ id: 'zdx-writer', scopes: ['write'] }] } });
    const t = await signIn(s, 'zdx-writer', ['read', 'write']);
    assert.deepEqual(t.scopes, ['write']);
    assert.deepEqual(missingScopes(t), ['read']);
    const q = ticketsQuery(100);
    await rejects(runExport({ connection: { baseUrl: s.url, credentials: { kind: 'oauth', accessToken: t.accessToken } }, query: q, checkpointPath: checkpointPathFor(q.output.path) }),
      'forbidden', /Missing the following required scopes: read/);
  });

  it('the simulator checks the authorization request like Zendesk (PKCE for public clients, https redirects, registered URLs)', async () => {
    const s = await start({ oauth: { clients: [{ id: 'zdx-fixed', scopes: ['read'], redirectUris: ['http://127.0.0.1/callback', 'https://app.example.com/cb'] }] } });
    const status = async (q: Record<string, string>): Promise<number> => (await fetch(`${s.url}/oauth/authorizations/new?${new URLSearchParams(q)}`, { redirect: 'manual' })).status;
    const base = { response_type: 'code', client_id: 'zdx-demo', redirect_uri: REDIRECT, scope: 'read', state: 's', code_challenge: createPkce().challenge, code_challenge_method: 'S256' };
    assert.equal(await status(base), 200);
    const { code_challenge: _c, code_challenge_method: _m, ...noPkce } = base;
    assert.equal(await status(noPkce), 400, 'a public client must use PKCE');
    assert.equal(await status({ ...base, code_challenge_method: 'plain' }), 400);
    assert.equal(await status({ ...base, redirect_uri: 'http://evil.example.com/cb' }), 400);
    assert.equal(await status({ ...base, client_id: 'unknown' }), 400);
    assert.equal(await status({ ...base, client_id: 'zdx-fixed', redirect_uri: 'http://127.0.0.1:4711/callback' }), 200, 'loopback matches on any port');
    assert.equal(await status({ ...base, client_id: 'zdx-fixed', redirect_uri: 'https://app.example.com/other' }), 400);
    // approve=1 skips the page; a form-encoded token request works too.
    const pkce = createPkce();
    const res = await fetch(`${s.url}/oauth/authorizations/new?${new URLSearchParams({ ...base, code_challenge: pkce.challenge, approve: '1' })}`, { redirect: 'manual' });
    assert.equal(res.status, 302);
    const back = new URL(res.headers.get('location')!).searchParams;
    assert.equal(back.get('state'), 's');
    const tok = await fetch(`${s.url}/oauth/tokens`, { method: 'POST', body: new URLSearchParams({ grant_type: 'authorization_code', code: back.get('code')!, client_id: 'zdx-demo', redirect_uri: REDIRECT, code_verifier: pkce.verifier }) });
    assert.equal(tok.status, 200);
    const body = await tok.json() as Record<string, unknown>;
    assert.equal(body.token_type, 'bearer');
    assert.equal(body.expires_in, 1800);
    assert.equal(typeof body.refresh_token, 'string');
    const bad = await fetch(`${s.url}/oauth/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ grant_type: 'password', client_id: 'zdx-demo' }) });
    assert.equal(bad.status, 400);
    assert.equal((await bad.json() as { error: string }).error, 'unsupported_grant_type');
  });

  for (const mode of ['refreshed by the engine after a 401', 'refreshed ahead of expiry'] as const) {
    it(`an access token that expires mid-export is ${mode}: no page lost or repeated`, async () => {
      // The simulator's OAuth clock jumps while the export is held after its third page, so the
      // token expires at that page whatever the machine's speed.
      let skewMs = 0;
      const s = await start({ oauth: { now: () => Date.now() + skewMs } });
      const client = { baseUrl: s.url, clientId: 'zdx-demo' };
      const first = await signIn(s);
      let renewals = 0;
      const persisted: OAuthTokens[] = [];
      // The keeper's own clock agrees with the simulator's, so "ahead of expiry" sees the jump too.
      const keeper = new OAuthTokenKeeper({
        tokens: first,
        renew: async (cur) => {
          renewals++;
          return refreshAccessToken(client, cur.refreshToken!, { now: () => Date.now() + skewMs });
        },
        persist: (t) => void persisted.push(t),
        now: () => Date.now() + skewMs,
      });
      // The 401 path: a static token the engine must refresh; the proactive path: the keeper's live credentials.
      const credentials: Credentials = mode === 'refreshed by the engine after a 401'
        ? { kind: 'oauth', accessToken: first.accessToken, refresh: (rejected) => keeper.renewAfterRejection(rejected) }
        : keeper.credentials();
      const q = ticketsQuery(25);
      s.hold({ afterPages: 3, path: '/tickets/cursor' });
      const running = runExport({ connection: { baseUrl: s.url, credentials }, query: q, checkpointPath: checkpointPathFor(q.output.path), now: () => s.nowSeconds() * 1000 });
      await s.waitForHeld();
      // After a 401: an hour later the token is dead. Ahead of expiry: 30 s before it, inside the
      // keeper's margin (a fifth of the lifetime, at most a minute), while the token still works.
      skewMs = mode === 'refreshed by the engine after a 401' ? 3600_000 : first.expiresAt! - Date.now() - 30_000;
      s.release();
      const result = await running;
      assert.equal(result.caughtUp, true);
      assert.equal(renewals, 1, 'one renewal for one expiry');
      assert.equal(persisted.length, 1);
      const got = await keys(q.output.path);
      const expected = s.expected('tickets/cursor', { startTime: EPOCH }).map((r) => `${r.id}:${r.ts}`);
      assert.deepEqual(got, expected);
      assert.equal(s.stats().refreshTokenReuses, 0);
      // After a 401 the engine asks again, once. Ahead of expiry the request that starts the renewal
      // still goes with the old token, which the renewal revokes: it may or may not arrive first.
      const refused = s.stats().byStatus[401] ?? 0;
      if (mode === 'refreshed by the engine after a 401') assert.equal(refused, 1);
      else assert.ok(refused <= 1, `${refused} requests refused`);
    });
  }

  it('six exports at once around two expiries: one refresh per expiry, no refresh token spent twice, every record once', async function () {
    this.timeout(120_000);
    let skewMs = 0;
    const s = await start({ oauth: { now: () => Date.now() + skewMs } });
    const client = { baseUrl: s.url, clientId: 'zdx-demo' };
    const first = await signIn(s);
    const keeper = new OAuthTokenKeeper({ tokens: first, renew: (cur) => refreshAccessToken(client, cur.refreshToken!, { now: () => Date.now() + skewMs }), now: () => Date.now() + skewMs });
    // Three exports hold the token they were given and ask after a 401, as the engine server's
    // sessions do; three read the keeper's live credentials, as the CLI does.
    const held = (i: number): boolean => i % 2 === 0;
    const queries = Array.from({ length: 6 }, (_, i) => ({ ...ticketsQuery(20), name: `oauth-${i}`, digest: `oauth-concurrent-${i}`, output: { path: path.join(dir, `out-${i}`, 'tickets.jsonl'), format: 'jsonl' as const } }));
    const credentials = queries.map((_, i): Credentials => (held(i)
      ? { kind: 'oauth', accessToken: first.accessToken, refresh: (rejected) => keeper.renewAfterRejection(rejected) }
      : keeper.credentials()));
    // The engine sends one request of a family at a time per account (Zendesk counts parallel ones
    // against the same budget), so the others queue behind the held one with the token they carry.
    s.hold({ path: '/tickets/cursor' });
    const runs = queries.map((q, i) => runExport({ connection: { baseUrl: s.url, credentials: credentials[i] }, query: q, checkpointPath: checkpointPathFor(q.output.path), now: () => s.nowSeconds() * 1000 }));
    for (let expiry = 1; expiry <= 2; expiry++) {
      await s.waitForHeld();
      skewMs += 3600_000;
      s.release();
      // The second expiry comes with every export part-way (15 pages each; 12 requests later).
      if (expiry === 1) s.hold({ afterPages: 12, path: '/tickets/cursor' });
    }
    const results = await Promise.all(runs);
    const expected = s.expected('tickets/cursor', { startTime: EPOCH }).map((r) => `${r.id}:${r.ts}`);
    for (const [i, r] of results.entries()) {
      assert.equal(r.caughtUp, true);
      assert.deepEqual(await keys(queries[i].output.path), expected, `export ${i}`);
    }
    const stats = s.stats();
    assert.deepEqual(stats.requestLog.filter((l) => l.url === '/oauth/tokens').map((l) => l.status), [200, 200, 200], 'the sign-in, then one refresh per expiry');
    assert.equal(stats.refreshTokenReuses, 0);
    // Each export holding its own token is refused once per expiry; live credentials may be too
    // when they were read before the renewal finished.
    const refused = stats.byStatus[401] ?? 0;
    assert.ok(refused >= 6 && refused <= 12, `${refused} requests refused`);
  });

  it('a rotated refresh token presented again is refused (invalid_grant), counted, and revokes the pair it was rotated into', async () => {
    const s = await start();
    const client = { baseUrl: s.url, clientId: 'zdx-demo' };
    const first = await signIn(s);
    const second = await refreshAccessToken(client, first.refreshToken!);
    await checkConnection({ baseUrl: s.url, credentials: { kind: 'oauth', accessToken: second.accessToken } });
    const reused = await rejects(refreshAccessToken(client, first.refreshToken!), 'auth', /refresh token: it expired or was revoked/);
    assert.equal(reused.details, 'invalid_grant');
    assert.equal(s.stats().refreshTokenReuses, 1);
    await rejects(checkConnection({ baseUrl: s.url, credentials: { kind: 'oauth', accessToken: second.accessToken } }), 'auth', /./);
    await rejects(refreshAccessToken(client, second.refreshToken!), 'auth', /revoked/);
  });
});

describe('AuthSession: one renewal per refused token', () => {
  it('concurrent 401s for one token share one refresh; a 401 for a replaced token retries without one', async () => {
    let calls = 0;
    let release!: (token: string) => void;
    const refreshed = new Promise<string>((r) => { release = r; });
    const session = new AuthSession({ kind: 'oauth', accessToken: 'T1', refresh: async (rejected) => { calls++; assert.equal(rejected, 'T1'); return refreshed; } });
    const waiting = Array.from({ length: 20 }, () => session.refresh('T1'));
    release('T2');
    assert.deepEqual(await Promise.all(waiting), Array(20).fill(true));
    assert.equal(calls, 1);
    assert.equal(session.token(), 'T2');
    assert.equal(session.header(), 'Bearer T2');
    assert.equal(await session.refresh('T1'), true, 'a late 401 for T1: retry with T2');
    assert.equal(calls, 1);
  });

  it('passes on the refresh\'s own sentence, and says false when there is nothing to retry with', async () => {
    const dead = new AuthSession({ kind: 'oauth', accessToken: 'T1', refresh: async () => { throw new ExportError('auth', 'The sign-in expired; sign in again.'); } });
    await rejects(dead.refresh('T1'), 'auth', /^The sign-in expired; sign in again\.$/);
    assert.equal(await new AuthSession({ kind: 'oauth', accessToken: 'T1' }).refresh('T1'), false);
  });
});
