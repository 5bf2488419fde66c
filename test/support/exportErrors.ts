// Asserting on the engine's one-sentence failures: the promise must reject with an ExportError of the given code.
import { strict as assert } from 'node:assert';
import { ExportError } from '../../src/engine/errors';

export async function rejectsWith(p: Promise<unknown>, code: string, match?: RegExp): Promise<ExportError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ExportError, String(err));
    assert.equal(err.code, code, err.message);
    if (match) assert.match(err.message, match);
    return err;
  }
  assert.fail(`expected ExportError(${code})`);
}
