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

/**
 * Holds the credentials for one connection. An expired OAuth access token is refreshed at most
 * once per rejected request; the refreshed token is kept for the rest of the run.
 */
/** The one sentence for a 401, worded for the kind of credentials that was refused. */
export function rejectedCredentialsMessage(credentials: Credentials, host: string): string {
  return credentials.kind === 'oauth'
    ? `Zendesk rejected the OAuth access token for ${host} and it couldn't be refreshed; sign in again.`
    : `Zendesk rejected the credentials for ${host}: check the email and API token (or sign in again).`;
}

export class AuthSession {
  private credentials: Credentials;
  private refreshing: Promise<boolean> | null = null;

  constructor(credentials: Credentials) {
    this.credentials = credentials;
  }

  header(): string {
    return authorizationHeader(this.credentials);
  }

  rejectedMessage(host: string): string {
    return rejectedCredentialsMessage(this.credentials, host);
  }

  /** Whether a 401 can be answered by refreshing (OAuth with a refresh function). */
  canRefresh(): boolean {
    return this.credentials.kind === 'oauth' && typeof this.credentials.refresh === 'function';
  }

  /**
   * Refreshes the OAuth access token. Concurrent callers share one refresh. Returns false when
   * refreshing is impossible or failed (the caller then reports the original 401).
   */
  async refresh(): Promise<boolean> {
    const creds = this.credentials;
    if (creds.kind !== 'oauth' || !creds.refresh) return false;
    if (!this.refreshing) {
      const refresh = creds.refresh;
      this.refreshing = (async () => {
        try {
          const accessToken = await refresh();
          if (typeof accessToken !== 'string' || accessToken === '') return false;
          this.credentials = { ...creds, accessToken };
          return true;
        } catch {
          return false;
        } finally {
          this.refreshing = null;
        }
      })();
    }
    return this.refreshing;
  }
}
