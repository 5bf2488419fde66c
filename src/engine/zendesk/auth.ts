// Builds the Authorization header and owns the one-shot OAuth refresh, so the HTTP client never
// handles secrets directly and a secret never reaches an error message or a log line.
import { ExportError } from '../errors';
import type { Credentials } from './model';

/**
 * `Basic base64(email/token:token)` for API tokens, `Bearer <token>` for OAuth. A value fetch can't
 * send (a line break, NUL or non-Latin-1 character, e.g. from a bad paste) is refused here, because
 * fetch's own error quotes the whole header, token included.
 */
export function authorizationHeader(credentials: Credentials): string {
  if (credentials.kind === 'apiToken') {
    return `Basic ${Buffer.from(`${credentials.email}/token:${credentials.token}`, 'utf8').toString('base64')}`;
  }
  const header = `Bearer ${credentials.accessToken}`;
  // Fetch trims leading and trailing HTTP whitespace; what remains may hold no NUL, CR or LF and only bytes.
  if (/[\0\r\n]|[^\u0000-\u00ff]/.test(header.replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, ''))) {
    throw new ExportError('auth', "The OAuth access token contains a line break or a character that can't be sent in an HTTP header; sign in again.");
  }
  return header;
}

/** The one sentence for a 401, worded for the kind of credentials that was refused. */
export function rejectedCredentialsMessage(credentials: Credentials, host: string): string {
  return credentials.kind === 'oauth'
    ? `Zendesk rejected the OAuth access token for ${host} and it couldn't be refreshed; sign in again.`
    : `Zendesk rejected the credentials for ${host}: check the email and API token (or sign in again).`;
}

/**
 * Holds the credentials for one connection. After a 401 the OAuth access token is renewed once
 * per rejected token, whatever the number of requests that carried it: concurrent 401s for one
 * token share one renewal, and a 401 for a token already replaced just retries with the new one.
 */
export class AuthSession {
  private readonly credentials: Credentials;
  /** The token the last renewal gave, when the credentials don't show it themselves. */
  private renewed: string | null = null;
  private renewing: { rejected: string; done: Promise<boolean> } | null = null;

  constructor(credentials: Credentials) {
    this.credentials = credentials;
  }

  /** What identifies the credentials a request goes with; give it back to refresh() after a 401. */
  token(): string {
    const c = this.credentials;
    return c.kind === 'apiToken' ? c.token : (this.renewed ?? c.accessToken);
  }

  header(): string {
    const c = this.credentials;
    return authorizationHeader(c.kind === 'oauth' ? { ...c, accessToken: this.token() } : c);
  }

  rejectedMessage(host: string): string {
    return rejectedCredentialsMessage(this.credentials, host);
  }

  /** Whether a 401 can be answered by refreshing (OAuth with a refresh function). */
  canRefresh(): boolean {
    return this.credentials.kind === 'oauth' && typeof this.credentials.refresh === 'function';
  }

  /**
   * After a 401 for a request sent with `rejected` (from token()): true when there is another
   * token to retry with. Concurrent callers for the same token share one renewal. An ExportError
   * from the renewal (e.g. "sign in again") is passed on; any other failure is false (the caller
   * then reports the 401).
   */
  async refresh(rejected: string): Promise<boolean> {
    const c = this.credentials;
    if (c.kind !== 'oauth' || !c.refresh) return false;
    if (this.token() !== rejected) return true;
    if (this.renewing?.rejected !== rejected) {
      const refresh = c.refresh;
      const renewing = { rejected, done: Promise.resolve(false) };
      renewing.done = (async () => {
        try {
          const next = await refresh(rejected);
          // The same token again is allowed one retry (the 401 may have been a fluke); the client
          // gives up if that is refused too.
          if (typeof next !== 'string' || next === '') return false;
          // Credentials that renew themselves (a getter) already show the new token; others need it kept here.
          this.renewed = c.accessToken === next ? null : next;
          return true;
        } catch (err) {
          if (err instanceof ExportError) throw err;
          return false;
        } finally {
          if (this.renewing === renewing) this.renewing = null;
        }
      })();
      this.renewing = renewing;
    }
    return this.renewing.done;
  }
}
