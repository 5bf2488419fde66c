// hold() / release(): export requests wait at a gate so a test can watch an export in progress
// (the Runs view, a partly written file, a cancel in the middle) instead of hoping the machine is
// slow. Every wait is bounded: a held request goes on by itself after maxHoldMs.
import type { HeldRequest, HoldOptions } from './types';

const DEFAULT_MAX_HOLD_MS = 30_000;
const MAX_HOLD_LIMIT_MS = 600_000;
const DEFAULT_WAIT_MS = 30_000;

interface Holding {
  afterPages: number;
  path: string | undefined;
  maxHoldMs: number;
  passed: number;
}

interface Held extends HeldRequest {
  go(): void;
}

export class HoldGate {
  private holding: Holding | null = null;
  private readonly held = new Set<Held>();
  /** Called whenever a request starts being held. */
  private readonly waiters = new Set<() => void>();
  /** Held requests that went on because their hold ran out. */
  expired = 0;

  hold(o: HoldOptions = {}): void {
    const afterPages = o.afterPages ?? 0;
    const maxHoldMs = o.maxHoldMs ?? DEFAULT_MAX_HOLD_MS;
    if (!Number.isInteger(afterPages) || afterPages < 0) throw new Error(`hold(): afterPages must be a whole number of pages, 0 or more (got ${String(o.afterPages)}).`);
    if (!(Number.isFinite(maxHoldMs) && maxHoldMs > 0 && maxHoldMs <= MAX_HOLD_LIMIT_MS)) {
      throw new Error(`hold(): maxHoldMs must be above 0 and at most ${MAX_HOLD_LIMIT_MS} ms (got ${String(o.maxHoldMs)}).`);
    }
    this.holding = { afterPages, path: o.path, maxHoldMs, passed: 0 };
  }

  /** Lets every held request go on; returns how many there were. */
  release(): number {
    this.holding = null;
    const held = [...this.held];
    for (const h of held) h.go();
    return held.length;
  }

  /** Resolves when the request may go on: at once, unless a hold applies to it. */
  pass(path: string, url: string): Promise<void> {
    const holding = this.holding;
    if (!holding || (holding.path !== undefined && !path.includes(holding.path))) return Promise.resolve();
    if (holding.passed < holding.afterPages) {
      holding.passed++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.expired++;
        h.go();
      }, holding.maxHoldMs);
      const h: Held = {
        url,
        passedBefore: holding.passed,
        go: () => {
          clearTimeout(timer);
          this.held.delete(h);
          resolve();
        },
      };
      this.held.add(h);
      for (const w of [...this.waiters]) w();
    });
  }

  /** The requests held now, oldest first. */
  heldNow(): HeldRequest[] {
    return [...this.held].map((h) => ({ url: h.url, passedBefore: h.passedBefore }));
  }

  /** The oldest held request once `count` are held at the same time (at once if they are). */
  waitForHeld(timeoutMs = DEFAULT_WAIT_MS, count = 1): Promise<HeldRequest> {
    if (!(Number.isInteger(count) && count >= 1)) return Promise.reject(new Error(`waitForHeld(): count must be a whole number, 1 or more (got ${String(count)}).`));
    if (this.held.size >= count) return Promise.resolve(this.heldNow()[0]);
    return new Promise<HeldRequest>((resolve, reject) => {
      const done = (): void => {
        if (this.held.size < count) return;
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve(this.heldNow()[0]);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(done);
        const now = this.held.size;
        reject(new Error(count === 1
          ? `No export request was held within ${timeoutMs} ms: did the export reach the hold (afterPages, path)?`
          : `${now} of ${count} export requests were held within ${timeoutMs} ms: did every export reach the hold (afterPages, path)?`));
      }, timeoutMs);
      this.waiters.add(done);
    });
  }
}
