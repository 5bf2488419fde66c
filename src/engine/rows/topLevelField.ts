// Reads one top-level field out of a JSON object's bytes without parsing the record: sorting or
// filtering a million records by `subject` then costs a walk to the key and a look at its value,
// instead of building every record (or even decoding it to a string). Works on the raw UTF-8
// bytes: multi-byte characters never contain ASCII bytes, so quotes, braces and backslashes are
// found by looking at single bytes.

const QUOTE = 34;
const BACKSLASH = 92;
const COLON = 58;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;

/** The record is not a JSON object (a bare value, or not JSON): the caller parses it as a whole. */
export const NOT_AN_OBJECT = -2;
/** The object has no such top-level key. */
export const NOT_FOUND = -1;

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

/** A key as the bytes to look for (UTF-8, as JSON.stringify writes it when it needs no escapes). */
export interface FieldKey {
  name: string;
  bytes: Uint8Array;
}

export function fieldKey(name: string): FieldKey {
  return { name, bytes: Buffer.from(name, 'utf8') };
}

/** End (index of the closing quote) of the JSON string whose opening quote is at `from`, or -1. */
export function stringClose(buf: Uint8Array, from: number, end: number): number {
  for (let i = from + 1; i < end; i++) {
    const c = buf[i];
    if (c === BACKSLASH) i++;
    else if (c === QUOTE) return i;
  }
  return -1;
}

/**
 * Offset of the value of top-level key `key` in the object held by buf[start, end), NOT_FOUND, or
 * NOT_AN_OBJECT. Keys written with escapes are decoded before comparing; whitespace between tokens
 * is allowed (pretty-printed arrays).
 */
export function fieldValueAt(buf: Uint8Array, start: number, end: number, key: FieldKey): number {
  let i = start;
  while (i < end && isSpace(buf[i])) i++;
  if (buf[i] !== OPEN_BRACE) return NOT_AN_OBJECT;
  const kb = key.bytes;
  const kl = kb.length;
  let depth = 0;
  for (; i < end; i++) {
    const c = buf[i];
    if (c === QUOTE) {
      let j = i + 1;
      let escaped = false;
      for (; j < end; j++) {
        const d = buf[j];
        if (d === BACKSLASH) {
          escaped = true;
          j++;
        } else if (d === QUOTE) {
          break;
        }
      }
      if (j >= end) return NOT_FOUND;
      if (depth === 1) {
        // A string at depth 1 followed by a colon is a key of the record.
        let v = j + 1;
        while (v < end && isSpace(buf[v])) v++;
        if (buf[v] === COLON) {
          let same: boolean;
          if (escaped) {
            same = decodeKey(buf, i, j + 1) === key.name;
          } else {
            same = j - i - 1 === kl;
            for (let k = 0; same && k < kl; k++) same = buf[i + 1 + k] === kb[k];
          }
          if (same) {
            v++;
            while (v < end && isSpace(buf[v])) v++;
            return v < end ? v : NOT_FOUND;
          }
        }
      }
      i = j;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      depth++;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
      if (depth === 0) return NOT_FOUND;
    }
  }
  return NOT_FOUND;
}

function decodeKey(buf: Uint8Array, from: number, to: number): string | null {
  try {
    return JSON.parse(Buffer.from(buf.buffer, buf.byteOffset + from, to - from).toString('utf8')) as string;
  } catch {
    return null;
  }
}

/** End (exclusive) of the JSON value starting at `v`, or -1 when it is cut short. */
export function valueEnd(buf: Uint8Array, v: number, end: number): number {
  const c = buf[v];
  if (c === QUOTE) {
    const q = stringClose(buf, v, end);
    return q < 0 ? -1 : q + 1;
  }
  if (c === OPEN_BRACE || c === OPEN_BRACKET) {
    let depth = 0;
    for (let i = v; i < end; i++) {
      const d = buf[i];
      if (d === QUOTE) {
        const q = stringClose(buf, i, end);
        if (q < 0) return -1;
        i = q;
      } else if (d === OPEN_BRACE || d === OPEN_BRACKET) {
        depth++;
      } else if (d === CLOSE_BRACE || d === CLOSE_BRACKET) {
        depth--;
        if (depth === 0) return i + 1;
      }
    }
    return -1;
  }
  let i = v;
  while (i < end) {
    const d = buf[i];
    if (d === 44 || d === CLOSE_BRACE || d === CLOSE_BRACKET || isSpace(d)) break;
    i++;
  }
  return i;
}

/** Sentinel for a value that is not valid JSON (the record is damaged). */
export const DAMAGED: unique symbol = Symbol('damaged');

/** The JSON value at buf[v, valueEnd) as JSON.parse gives it, or DAMAGED. */
export function decodeValue(buf: Uint8Array, v: number, end: number): unknown {
  const e = valueEnd(buf, v, end);
  if (e < 0) return DAMAGED;
  const bytes = Buffer.from(buf.buffer, buf.byteOffset + v, e - v);
  if (buf[v] === QUOTE && bytes.indexOf(BACKSLASH) < 0) return bytes.toString('utf8', 1, bytes.length - 1);
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return DAMAGED;
  }
}

/**
 * `{ found, value }` for the top-level field `key` of the JSON object in `text`, or null when the
 * text is not an object or the value is damaged (the caller then parses the whole record).
 */
export function topLevelField(text: string, key: string): { found: boolean; value?: unknown } | null {
  const buf = Buffer.from(text, 'utf8');
  const v = fieldValueAt(buf, 0, buf.length, fieldKey(key));
  if (v === NOT_AN_OBJECT) return null;
  if (v === NOT_FOUND) return { found: false };
  const value = decodeValue(buf, v, buf.length);
  return value === DAMAGED ? null : { found: true, value };
}
