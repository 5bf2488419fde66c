// The words and counts the sidebar, the status bar and notifications show (src/extension/format.ts):
// plurals that agree with the number, and a start of 0 read as "from the beginning".
import assert from 'node:assert/strict';
import { emptySessionCounts, type SessionInfo } from '../../src/protocol/customMessages';
import { countsText, plural, recordsAndPages, sinceText, statusText } from '../../src/extension/format';

describe('extension text (format.ts)', () => {
  it('puts a noun in the plural unless the count is one, with thousands separators', () => {
    assert.equal(plural(0, 'page'), '0 pages');
    assert.equal(plural(1, 'page'), '1 page');
    assert.equal(plural(2, 'page'), '2 pages');
    assert.equal(plural(1000, 'record'), '1,000 records');
    assert.equal(plural(1, 'retry', 'retries'), '1 retry');
    assert.equal(plural(3, 'retry', 'retries'), '3 retries');
  });

  it('shows the records and pages of a session as they are counted', () => {
    const c = { ...emptySessionCounts(), records: 1000, pages: 1 };
    assert.equal(recordsAndPages(c), '1,000 records, 1 page');
    assert.equal(countsText(c), '1,000 records · 1 page');
    assert.equal(countsText({ ...c, records: 1, pages: 2, rateLimitWaits: 1 }), '1 record · 2 pages · 1 rate-limit wait');
  });

  it('says "from the beginning" for a start of 0 or none, never "since 0"', () => {
    assert.equal(sinceText('0'), 'from the beginning');
    assert.equal(sinceText(0), 'from the beginning');
    assert.equal(sinceText(undefined), 'from the beginning');
    assert.equal(sinceText('-7d'), 'since -7d');
    assert.equal(sinceText('2024-01-01'), 'since 2024-01-01');
    assert.equal(sinceText(1704067200), 'since 1704067200');
  });

  it('names the state of a run', () => {
    const base = {
      sessionId: 's', queryName: 'q', resource: 'tickets', endpointId: 'tickets/cursor', connectionName: 'c', resumed: false,
      startedAt: new Date(0).toISOString(), counts: emptySessionCounts(), outputPath: '', files: [], checkpointPath: '',
    } satisfies Omit<SessionInfo, 'status'>;
    assert.equal(statusText({ ...base, status: 'running' }), 'running');
    assert.equal(statusText({ ...base, status: 'running', resumed: true }), 'resuming');
    assert.equal(statusText({ ...base, status: 'done', caughtUp: true }), 'caught up');
    assert.match(statusText({ ...base, status: 'running', counts: { ...emptySessionCounts(), waitingUntil: Date.now() + 60_000 } }), /^waiting until \d\d:\d\d:\d\d$/);
  });
});
