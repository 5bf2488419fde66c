// Records per budgeted request: the same ticket metric events exported time-based (the default:
// up to 1,000 a request) and with cursor pagination (at most 100 a request). The ratio is what the
// default saves of the incremental budget (10 requests a minute).
import { join } from 'node:path';
import { runExport } from '../src/engine/export';
import { loadQuery } from '../src/engine/query';
import { connectionFromUrl } from '../src/engine/zendesk';
import { startSimulator } from '../src/simulator/index';
import { int, isMain, tempDir } from './support';

export interface RecordsPerRequestResult {
  events: number;
  requests: { time: number; cursor: number };
  /** Requests of the default (time-based) as a share of cursor's for the same events. */
  ratio: number;
}

export async function recordsPerRequestBench(opts: { events?: number; log?: (l: string) => void } = {}): Promise<RecordsPerRequestResult> {
  const log = opts.log ?? console.log;
  const sim = await startSimulator({ seed: 5, counts: { tickets: 200, metricEvents: opts.events ?? 20_000 }, rateLimits: false });
  const tmp = tempDir('per-request');
  try {
    const connection = connectionFromUrl({ url: sim.url, credentials: { kind: 'apiToken', email: 'admin@example.com', token: 'sim-admin-token' } });
    const requests = { time: 0, cursor: 0 };
    let events = 0;
    for (const pagination of ['time', 'cursor'] as const) {
      const query = loadQuery(
        { name: `metric events ${pagination}`, resource: 'ticket_metric_events', pagination, startTime: 0, output: { path: `${pagination}.jsonl`, format: 'jsonl' } },
        { baseDir: tmp.dir },
      );
      const before = sim.stats().requestLog.length;
      const result = await runExport({ connection, query, checkpointPath: join(tmp.dir, `${pagination}.checkpoint.json`) });
      requests[pagination] = sim.stats().requestLog.slice(before).filter((l) => l.url.startsWith('/api/v2/incremental/')).length;
      events = result.records;
      log(`ticket_metric_events ${pagination}: ${int(result.records)} events in ${requests[pagination]} requests (${int(result.records / requests[pagination])} a request)`);
    }
    return { events, requests, ratio: requests.time / requests.cursor };
  } finally {
    tmp.remove();
    await sim.close();
  }
}

if (isMain(module)) {
  void recordsPerRequestBench().then((r) => console.log(`time-based requests x${r.ratio.toFixed(2)} of cursor's for the same ${int(r.events)} events`));
}
