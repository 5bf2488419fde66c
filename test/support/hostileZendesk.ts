// A small HTTP server on loopback that plays a broken or hostile Zendesk: the test decides every
// answer of the export endpoints; /api/v2/users/me answers as an admin unless the test says otherwise.
// It records each request (path, Authorization sent or not) so a test can count retries.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HostileRequest {
  method: string;
  /** Path and query as received. */
  url: string;
  /** The path without a trailing `.json` (Zendesk answers both spellings). */
  path: string;
  query: URLSearchParams;
  authorization: string | undefined;
}

export type HostileHandler = (req: HostileRequest, res: http.ServerResponse) => void;

export interface HostileZendesk {
  url: string;
  requests: HostileRequest[];
  /** Requests to anything but /api/v2/users/me. */
  exportRequests(): HostileRequest[];
  close(): Promise<void>;
}

export function json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** A ticket as the incremental exports return it, with the fields the engine reads. */
export function ticket(id: number, ts: number): Record<string, unknown> {
  return { id, generated_timestamp: ts, updated_at: new Date(Math.max(0, ts) * 1000).toISOString(), subject: `Ticket ${id}`, status: 'open' };
}

export async function hostileZendesk(handler: HostileHandler, me?: HostileHandler): Promise<HostileZendesk> {
  const requests: HostileRequest[] = [];
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://localhost');
    const r: HostileRequest = { method: req.method ?? 'GET', url: req.url ?? '', path: u.pathname.replace(/\.json$/, ''), query: u.searchParams, authorization: req.headers.authorization };
    requests.push(r);
    // The body is never needed: drain it so the connection can be reused.
    req.resume();
    if (r.path === '/api/v2/users/me') {
      if (me) me(r, res);
      else json(res, 200, { user: { id: 1, name: 'Admin', email: 'admin@example.com', role: 'admin' } });
      return;
    }
    handler(r, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    exportRequests: () => requests.filter((r) => !r.path.startsWith('/api/v2/users/me')),
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
