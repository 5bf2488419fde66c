// Fault bookkeeping: which configured faults fire for a request, honouring skip/times/path.
import type { Fault, FaultKind } from './types';

interface Armed {
  fault: Fault;
  seen: number;
  fired: number;
}

export class FaultBook {
  private armed: Armed[] = [];

  set(faults: readonly Fault[]): void {
    for (const f of faults) validateFault(f);
    this.armed = faults.map((fault) => ({ fault: { ...fault }, seen: 0, fired: 0 }));
  }

  /**
   * The faults of the given kinds that fire for this request (each counted once per request).
   * Kinds are consulted in separate calls at different stages of handling, so a fault is only
   * counted when the request reached the stage where it could apply.
   */
  take(kinds: readonly FaultKind[], path: string, applies: (f: Fault) => boolean = () => true): Fault[] {
    const out: Fault[] = [];
    for (const a of this.armed) {
      const f = a.fault;
      if (!kinds.includes(f.kind)) continue;
      if (f.path !== undefined && !path.includes(f.path)) continue;
      if (!applies(f)) continue;
      if (f.times !== undefined && a.fired >= f.times) continue;
      a.seen++;
      if (f.skip !== undefined && a.seen <= f.skip) continue;
      a.fired++;
      out.push(f);
    }
    return out;
  }
}

function validateFault(f: Fault): void {
  const bad = (why: string): never => {
    throw new Error(`Invalid simulator fault ${JSON.stringify(f)}: ${why}.`);
  };
  if (f.times !== undefined && (!Number.isInteger(f.times) || f.times < 0)) bad('times must be a non-negative integer');
  if (f.skip !== undefined && (!Number.isInteger(f.skip) || f.skip < 0)) bad('skip must be a non-negative integer');
  if (f.kind === 'slow' && !(f.delayMs >= 0)) bad('delayMs must be >= 0');
  if (f.kind === 'timeoutAbovePageSize' && !(f.maxPerPage >= 1)) bad('maxPerPage must be >= 1');
}

// A Record keyed by FaultKind makes the compiler reject a kind added to the union but not listed here.
const KINDS: Record<FaultKind, true> = {
  plainText429: true, noRetryAfter429: true, edge429: true, httpDateRetryAfter429: true, decimalRetryAfter429: true,
  status5xx: true, timeoutAbovePageSize: true, slow: true, connectionReset: true, truncatedBody: true,
  foreignNextPage: true, legacyStuckTimestamp: true, empty403: true, unauthorized: true,
};

/** Every fault kind, for CLIs and UIs that list or parse them. */
export const FAULT_KINDS = Object.keys(KINDS) as readonly FaultKind[];

const NUMERIC_FIELDS = new Set(['times', 'skip', 'retryAfter', 'status', 'maxPerPage', 'delayMs']);

/**
 * Parses the command-line form `kind[,key=value…]`, e.g. `status5xx,status=502,times=2,path=/tickets/cursor`
 * or `slow,delayMs=500`. Throws an Error naming the problem.
 */
export function parseFaultSpec(spec: string): Fault {
  const [kind, ...pairs] = spec.split(',').map((s) => s.trim()).filter(Boolean);
  if (!FAULT_KINDS.includes(kind as FaultKind)) {
    throw new Error(`Unknown fault "${kind ?? ''}"; use one of ${FAULT_KINDS.join(', ')}.`);
  }
  const fault: Record<string, unknown> = { kind };
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const k = eq > 0 ? pair.slice(0, eq) : '';
    const v = eq > 0 ? pair.slice(eq + 1) : '';
    if (k === 'path') fault.path = v;
    else if (NUMERIC_FIELDS.has(k) && v !== '' && Number.isFinite(Number(v))) fault[k] = Number(v);
    else throw new Error(`Invalid fault option "${pair}" in "${spec}"; use key=value with ${[...NUMERIC_FIELDS, 'path'].join(', ')}.`);
  }
  if (kind === 'slow' && fault.delayMs === undefined) throw new Error(`Fault "slow" needs delayMs, e.g. slow,delayMs=500.`);
  if (kind === 'timeoutAbovePageSize' && fault.maxPerPage === undefined) throw new Error('Fault "timeoutAbovePageSize" needs maxPerPage, e.g. timeoutAbovePageSize,maxPerPage=100.');
  if (kind === 'status5xx' && fault.status !== undefined && ![500, 502, 503].includes(fault.status as number)) throw new Error('Fault "status5xx" takes status=500, 502 or 503.');
  validateFault(fault as unknown as Fault);
  return fault as unknown as Fault;
}
