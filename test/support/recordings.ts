// The real Zendesk traffic recorded in 2023 (zenpy's betamax cassettes, api-behaviour.md S7): each
// interaction's request URL, status and JSON body (cassette bodies are base64, usually gzipped).
import * as fs from 'node:fs';
import * as path from 'node:path';
import zlib from 'node:zlib';
import { SHARED_ZENDESK_DIR } from './shared';

export const RECORDINGS_DIR = path.join(SHARED_ZENDESK_DIR, 'recorded');
export const RECORDING_FILES = ['TicketsIncrementalTest.test_pagination.json', 'UsersIncrementalTest.test_pagination.json'];

export interface RecordedExchange {
  uri: string;
  status: number;
  body: Record<string, unknown>;
}

interface Cassette {
  http_interactions: { request: { uri: string }; response: { status: { code: number }; body: { base64_string?: string; string?: string } } }[];
}

function decodeBody(body: { base64_string?: string; string?: string }): string {
  if (body.base64_string) {
    const raw = Buffer.from(body.base64_string, 'base64');
    return (raw[0] === 0x1f && raw[1] === 0x8b ? zlib.gunzipSync(raw) : raw).toString('utf8');
  }
  return body.string ?? '';
}

/** Every recorded exchange, in cassette order. */
export function readRecordings(): RecordedExchange[] {
  return RECORDING_FILES.flatMap((file) => {
    const cassette = JSON.parse(fs.readFileSync(path.join(RECORDINGS_DIR, file), 'utf8')) as Cassette;
    return cassette.http_interactions.map(({ request, response }) => ({
      uri: request.uri,
      status: response.status.code,
      body: JSON.parse(decodeBody(response.body)) as Record<string, unknown>,
    }));
  });
}
