import assert from 'node:assert/strict';
import { redactSecrets } from '../../src/engine/zendesk';

describe('redactSecrets', () => {
  it('removes every occurrence of every secret, also inside JSON as the protocol trace prints it', () => {
    const trace = `Sending response 'zendesk/getCredentials'. Result: ${JSON.stringify({ secret: 'sim-admin-token' }, null, 4)} and again sim-admin-token; oauth abcdefghijkl`;
    const out = redactSecrets(trace, ['sim-admin-token', 'abcdefghijkl']);
    assert.equal(out.includes('sim-admin-token'), false);
    assert.equal(out.includes('abcdefghijkl'), false);
    assert.equal(out.split('«redacted»').length - 1, 3);
  });

  it('leaves text without secrets, and too-short strings, alone', () => {
    assert.equal(redactSecrets('Engine state: Starting -> Running', ['sim-admin-token', 'run']), 'Engine state: Starting -> Running');
  });
});
