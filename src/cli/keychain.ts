// Tokens for the CLI live only in the OS keychain (one entry per Zendesk base URL). On Linux the
// entry is pinned to the Secret Service: the library's silent fallback, the kernel keyring, loses
// everything on reboot, and a token that quietly vanishes is worse than a clear error.
import type { Entry } from '@napi-rs/keyring';
import type { Credentials } from '../engine/zendesk';

export const KEYCHAIN_SERVICE = 'zdx-zendesk-export';

/** What the CLI stores: the email is kept with the token so `auth status` can name the account. */
export type StoredCredentials =
  | { kind: 'apiToken'; email: string; token: string }
  | StoredOAuth;

/**
 * An OAuth entry: a pasted access token (accessToken only), or what `zdx auth login --oauth` /
 * `--client-credentials` stored so runs can refresh it (see src/cli/oauth.ts). Times are epoch ms.
 */
export interface StoredOAuth {
  kind: 'oauth';
  accessToken: string;
  grant?: 'authorization_code' | 'client_credentials';
  clientId?: string;
  /** Only for client_credentials entries (a confidential client's secret). */
  clientSecret?: string;
  refreshToken?: string;
  expiresAt?: number;
  refreshExpiresAt?: number;
  obtainedAt?: number;
  scopes?: string[];
}

function oauthEntry(v: Record<string, unknown>): StoredOAuth {
  const str = (k: string): string | undefined => (typeof v[k] === 'string' && v[k] !== '' ? v[k] : undefined);
  const num = (k: string): number | undefined => (typeof v[k] === 'number' && Number.isFinite(v[k]) ? v[k] : undefined);
  const grant = v.grant === 'authorization_code' || v.grant === 'client_credentials' ? v.grant : undefined;
  const out: StoredOAuth = { kind: 'oauth', accessToken: v.accessToken as string };
  const extra = {
    grant, clientId: str('clientId'), clientSecret: str('clientSecret'), refreshToken: str('refreshToken'),
    expiresAt: num('expiresAt'), refreshExpiresAt: num('refreshExpiresAt'), obtainedAt: num('obtainedAt'),
    scopes: Array.isArray(v.scopes) ? v.scopes.filter((x): x is string => typeof x === 'string') : undefined,
  };
  for (const [k, val] of Object.entries(extra)) if (val !== undefined) (out as unknown as Record<string, unknown>)[k] = val;
  return out;
}

export class KeychainUnavailableError extends Error {
  override readonly name = 'KeychainUnavailableError';
}

/**
 * Loaded on first use: the native binding is only needed when the environment holds no
 * credentials, so a platform without a prebuilt binary can still run exports from env variables.
 */
function keyringModule(): typeof import('@napi-rs/keyring') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('@napi-rs/keyring') as typeof import('@napi-rs/keyring');
}

function entryFor(baseUrl: string): Entry {
  try {
    return new (keyringModule().Entry)(KEYCHAIN_SERVICE, baseUrl, { linux: { store: 'secret-service' } });
  } catch (err) {
    throw unavailable(err);
  }
}

function unavailable(err: unknown): KeychainUnavailableError {
  // The library's message names the D-Bus problem, never the secret.
  const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
  return new KeychainUnavailableError(
    `the OS keychain (Secret Service) is not available (${why.replace(/[.\s]+$/, '')})`,
  );
}

export function readStored(baseUrl: string): StoredCredentials | null {
  let raw: string | null;
  try {
    raw = entryFor(baseUrl).getPassword();
  } catch (err) {
    if (err instanceof KeychainUnavailableError) throw err;
    throw unavailable(err);
  }
  if (raw === null) return null;
  try {
    const v = JSON.parse(raw) as Partial<StoredCredentials> & Record<string, unknown>;
    if (v.kind === 'apiToken' && typeof v.email === 'string' && typeof v.token === 'string') {
      return { kind: 'apiToken', email: v.email, token: v.token };
    }
    if (v.kind === 'oauth' && typeof v.accessToken === 'string') return oauthEntry(v);
  } catch {
    // fall through: an entry someone else wrote under our service name
  }
  return null;
}

export function store(baseUrl: string, creds: StoredCredentials): void {
  try {
    entryFor(baseUrl).setPassword(JSON.stringify(creds));
  } catch (err) {
    if (err instanceof KeychainUnavailableError) throw err;
    throw unavailable(err);
  }
}

/** True when an entry was removed. */
export function remove(baseUrl: string): boolean {
  try {
    return entryFor(baseUrl).deleteCredential();
  } catch (err) {
    if (err instanceof KeychainUnavailableError) throw err;
    throw unavailable(err);
  }
}

export function toCredentials(s: StoredCredentials): Credentials {
  return s.kind === 'apiToken'
    ? { kind: 'apiToken', email: s.email, token: s.token }
    : { kind: 'oauth', accessToken: s.accessToken };
}
