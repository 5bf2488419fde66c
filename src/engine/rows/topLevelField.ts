// Reads one top-level field out of a JSON object's text without parsing the whole record: sorting
// or filtering a million records by `subject` then costs a scan to the key plus one small
// JSON.parse, instead of building every record. Returns null when it can't be sure (the caller
// then parses the record).

const QUOTE = 34;
const BACKSLASH = 92;

/** End (exclusive) of the JSON string starting at `from` (a quote), or -1. */
function stringEnd(text: string, from: number): number {
  for (let i = from + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === BACKSLASH) i++;
    else if (c === QUOTE) return i + 1;
  }
  return -1;
}

/** End (exclusive) of the object/array starting at `from`, or -1. */
function nestedEnd(text: string, from: number): number {
  let depth = 0;
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const e = stringEnd(text, i);
      if (e < 0) return -1;
      i = e - 1;
    } else if (c === 123 || c === 91) {
      depth++;
    } else if (c === 125 || c === 93) {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

/**
 * `{ found, value }` for the field `key` of the top-level object in `text`, or null when the text
 * isn't compact JSON (e.g. `"key" :` with spaces) and a full parse must decide.
 */
export function topLevelField(text: string, key: string): { found: boolean; value?: unknown } | null {
  return readField(text, JSON.stringify(key));
}

/** topLevelField with the key's JSON text computed once (for scans over many records). */
export function topLevelReader(key: string): (text: string) => { found: boolean; value?: unknown } | null {
  const quoted = JSON.stringify(key);
  return (text) => readField(text, quoted);
}

function readField(text: string, quoted: string): { found: boolean; value?: unknown } | null {
  const needle = `${quoted}:`;
  let pos = 0;
  let depth = 0;
  let inString = false;
  let from = 0;
  for (;;) {
    const at = text.indexOf(needle, from);
    if (at < 0) return text.includes(quoted) ? null : { found: false };
    // Bring the structural scan up to the candidate: is it a key of the top-level object?
    for (; pos < at; pos++) {
      const c = text.charCodeAt(pos);
      if (inString) {
        if (c === BACKSLASH) pos++;
        else if (c === QUOTE) inString = false;
      } else if (c === QUOTE) {
        inString = true;
      } else if (c === 123 || c === 91) {
        depth++;
      } else if (c === 125 || c === 93) {
        depth--;
      }
    }
    if (pos === at && !inString && depth === 1) {
      const v = at + needle.length;
      const c = text.charCodeAt(v);
      let end: number;
      if (c === QUOTE) {
        end = stringEnd(text, v);
        if (end < 0) return null;
        const raw = text.slice(v + 1, end - 1);
        return { found: true, value: raw.includes('\\') ? JSON.parse(text.slice(v, end)) : raw };
      }
      if (c === 123 || c === 91) {
        end = nestedEnd(text, v);
      } else {
        end = v;
        while (end < text.length) {
          const d = text.charCodeAt(end);
          if (d === 44 || d === 125 || d === 93) break;
          end++;
        }
      }
      if (end < 0) return null;
      try {
        return { found: true, value: JSON.parse(text.slice(v, end)) };
      } catch {
        return null;
      }
    }
    from = at + 1;
  }
}
