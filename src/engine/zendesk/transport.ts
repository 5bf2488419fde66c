// How requests reach Zendesk: openapi-fetch builds and types them, this carries them over Node's own
// http/https. Node's global fetch loads undici and compiles its WebAssembly HTTP parser on first use,
// about 200 ms of a 300 ms cron run that finds nothing new; node:http costs about 10 ms. Bodies are
// decompressed here (gzip, deflate, br) and cut off past a cap as they stream in, so a small
// compressed answer that inflates to gigabytes is never read whole.
import type { IncomingMessage } from 'node:http';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';

/** Raised while reading a body longer than the cap (after decompression). */
export class BodyTooLargeError extends Error {}

/** A fetch for openapi-fetch over node:http(s); redirects are never followed (the client treats 3xx itself). */
export function nodeFetch(maxBodyBytes: number): (input: Request) => Promise<Response> {
  return async (input) => {
    const url = new URL(input.url);
    const { request } = url.protocol === 'https:' ? await import('node:https') : await import('node:http');
    const headers: Record<string, string> = {};
    input.headers.forEach((value, key) => { headers[key] = value; });
    headers['accept-encoding'] = 'gzip, deflate, br';
    return new Promise<Response>((resolve, reject) => {
      const req = request(url, { method: input.method, headers, signal: input.signal }, (res) => {
        try {
          resolve(toResponse(res, maxBodyBytes));
        } catch (err) {
          reject(err);
        }
      });
      req.on('error', reject);
      req.end();
    });
  };
}

function toResponse(res: IncomingMessage, maxBodyBytes: number): Response {
  const headers = new Headers();
  for (const [key, value] of Object.entries(res.headers)) {
    if (value === undefined || key === 'content-encoding' || key === 'content-length') continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(key, v);
  }
  const status = res.statusCode ?? 0;
  if (status === 204 || status === 304 || (status >= 100 && status < 200)) {
    res.resume();
    return new Response(null, { status, statusText: res.statusMessage, headers });
  }
  let body: Readable = res;
  const encoding = String(res.headers['content-encoding'] ?? '').trim().toLowerCase();
  if (encoding === 'gzip' || encoding === 'x-gzip') body = res.pipe(createGunzip());
  else if (encoding === 'deflate') body = res.pipe(createInflate());
  else if (encoding === 'br') body = res.pipe(createBrotliDecompress());
  if (body !== res) res.on('error', (err) => body.destroy(err));
  const capped = body.pipe(new Cap(maxBodyBytes));
  body.on('error', (err) => capped.destroy(err));
  return new Response(Readable.toWeb(capped) as ReadableStream<Uint8Array>, { status, statusText: res.statusMessage, headers });
}

class Cap extends Transform {
  private seen = 0;
  constructor(private readonly max: number) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.max) done(new BodyTooLargeError(String(this.max)));
    else done(null, chunk);
  }
}
