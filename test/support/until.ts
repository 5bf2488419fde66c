// The one way tests wait for something they can observe (a file, a row, a notification, a
// session state): poll a probe until it gives a value, within a bound that names what was awaited.
// Used by the unit, in-host and workbench tests alike, so it depends on nothing but timers.

export interface UntilOptions {
  /** The bound (default 30 s). A wait is for something the test caused; on a loaded machine it may take seconds. */
  timeoutMs?: number;
  /** Pause between probes (default 50 ms; UI probes, which cost more, pass more). */
  intervalMs?: number;
  /** On timeout: what there was instead, for the message (e.g. the text on screen). */
  found?: () => string | Promise<string>;
}

type Probed<T> = T | undefined | null | false;

/**
 * Calls `probe` until it returns something other than undefined, null or false, and returns that.
 * A probe that throws counts as "not yet" (the element may not exist yet); its last error is in
 * the message if time runs out: "Timed out after 30000 ms waiting for <what>".
 */
export async function until<T>(what: string, probe: () => Probed<T> | Promise<Probed<T>>, options: number | UntilOptions = {}): Promise<T> {
  const o: UntilOptions = typeof options === 'number' ? { timeoutMs: options } : options;
  const timeoutMs = o.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== null && v !== false) return v;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const seen = o.found ? await Promise.resolve().then(o.found).catch((err: unknown) => `(could not tell: ${String(err)})`) : '';
      const last = lastError === undefined ? '' : ` (last error: ${lastError instanceof Error ? lastError.message : String(lastError)})`;
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${last}${seen ? `; found: ${seen}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, o.intervalMs ?? 50));
  }
}
