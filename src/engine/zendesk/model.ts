// The shapes of talking to Zendesk: who we are (credentials, connection) and what the client reports
// while it paces, waits and retries.

export type Credentials =
  | { kind: 'apiToken'; email: string; token: string }
  | {
    kind: 'oauth';
    /** Read on every request, so credentials whose token is renewed elsewhere may expose it as a getter. */
    accessToken: string;
    /**
     * After a 401: a live token in place of `rejected` (the token that request carried). When the
     * token was already renewed since, the newer one, without a second refresh: Zendesk rotates
     * refresh tokens, so renewing twice for one expiry would spend a refresh token twice.
     */
    refresh?: (rejected: string) => Promise<string>;
  };

export interface Connection {
  /** Base URL such as https://acme.zendesk.com or http://127.0.0.1:4567 (loopback only for http). */
  baseUrl: string;
  credentials: Credentials;
}

/** What the client reports about requests, budgets and waits (every wait carries its end, epoch ms). */
export type ClientEvent =
  | { type: 'request'; url: string; perPage: number | null }
  | { type: 'rateLimit'; family: string; total: number | null; remaining: number | null; resetsAt: number | null }
  | { type: 'waiting'; until: number; reason: 'rateLimit' | 'retryAfter' | 'backoff' }
  | { type: 'retry'; attempt: number; status: number | null; message: string }
  | { type: 'perPage'; perPage: number };
