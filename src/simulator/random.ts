// Stateless hashing: every generated value is a pure function of (seed, salt, index, k), so a
// record can be rebuilt on demand and a million-record dataset costs no memory.

/** A 32-bit avalanche hash of up to four integers (murmur3 finaliser over a simple mix). */
export function hash32(a: number, b = 0, c = 0, d = 0): number {
  let h = 0x9e3779b9 ^ (a | 0);
  h = Math.imul(h ^ (b | 0), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ (c | 0), 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16) ^ (d | 0), 0x27d4eb2f);
  h ^= h >>> 15;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Salts keep the streams (and the fields inside one record) independent of each other. */
export function saltOf(name: string): number {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** A per-record source of values: `next()` walks k = 0, 1, 2… for one (seed, salt, index). */
export class RecordRng {
  private k = 0;
  constructor(private readonly seed: number, private readonly salt: number, private readonly index: number) {}
  next(): number {
    return hash32(this.seed, this.salt, this.index, this.k++);
  }
  int(n: number): number {
    return n <= 0 ? 0 : this.next() % n;
  }
  chance(percent: number): boolean {
    return this.next() % 10000 < percent * 100;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
}

export function hex(n: number, width: number): string {
  return (n >>> 0).toString(16).padStart(8, '0').slice(-width).padStart(width, '0');
}

/** A UUID-shaped string, deterministic in its inputs. */
export function uuidFrom(seed: number, salt: number, index: number): string {
  const w = [0, 1, 2, 3].map((k) => hash32(seed, salt, index, k));
  return `${hex(w[0], 8)}-${hex(w[1], 4)}-4${hex(w[1] >>> 16, 3)}-${hex(0x8000 | (w[2] & 0x3fff), 4)}-${hex(w[2] >>> 16, 4)}${hex(w[3], 8)}`;
}
