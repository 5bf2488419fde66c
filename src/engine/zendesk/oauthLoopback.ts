// The loopback end of an OAuth redirect (RFC 8252 §7.3), shared by the CLI and desktop VS Code:
// a one-shot HTTP listener on 127.0.0.1 that hands the first GET /callback to the sign-in and then
// answers the browser tab with one line of plain text once the sign-in knows how it ended.
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ExportError } from '../errors';
import { LOOPBACK_CALLBACK_PATH, loopbackRedirectUri } from './oauth';

export interface LoopbackReceiver {
  readonly port: number;
  /** `http://127.0.0.1:PORT/callback`: what goes into the authorization request and the code exchange. */
  readonly redirectUri: string;
  /** The redirect's query, once the browser arrives at /callback (never rejects: callers race it with their own timeout). */
  readonly received: Promise<URLSearchParams>;
  /** What the browser tab shows: success, or the one-sentence failure. */
  answer(ok: boolean, message: string): void;
  /** Stops listening (answering a tab still waiting with a failure); safe to call twice. */
  close(): Promise<void>;
}

/**
 * Listens on 127.0.0.1 only (never all interfaces: the code must not be reachable from the network).
 * `port` 0 picks a free one (only useful with a server that accepts any loopback port). A busy port
 * throws ExportError('io', portInUse(port)), so each caller can say how to pick another.
 */
export async function startLoopbackReceiver(port: number, portInUse: (port: number) => string): Promise<LoopbackReceiver> {
  let arrived: ((p: URLSearchParams) => void) | null = null;
  let pendingResponse: http.ServerResponse | null = null;
  const received = new Promise<URLSearchParams>((resolve) => { arrived = resolve; });
  // Loaded here, not at start-up: only a sign-in listens, and every zdx run would pay for it.
  const { createServer } = await import('node:http');
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method !== 'GET' || url.pathname !== LOOPBACK_CALLBACK_PATH || !arrived) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found.');
      return;
    }
    const deliver = arrived;
    arrived = null;
    pendingResponse = res;
    deliver(url.searchParams);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(new ExportError('io', err.code === 'EADDRINUSE'
      ? portInUse(port)
      : `Could not listen on 127.0.0.1:${port} for the sign-in redirect (${err.code ?? err.message}).`)));
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const answer = (ok: boolean, message: string): void => {
    const res = pendingResponse;
    pendingResponse = null;
    if (!res) return;
    // Plain text: nothing in the page can run, and the message (which may echo server text) needs no escaping.
    res.writeHead(ok ? 200 : 400, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' })
      .end(`${ok ? 'Signed in' : 'Sign-in failed'}\n\n${message}\n`);
  };
  const actual = (server.address() as AddressInfo).port;
  let closed: Promise<void> | null = null;
  return {
    port: actual,
    redirectUri: loopbackRedirectUri(actual),
    received,
    answer,
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        answer(false, 'The sign-in ended; you can close this tab.');
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
