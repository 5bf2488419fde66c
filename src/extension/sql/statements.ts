// A scratch SQL file's parts, without vscode (unit-tested): the database it is bound to (its first
// line, `-- zdx: duckdb path/to/file.duckdb`, or `-- zdx: parquet path/to/folder`) and where each
// statement starts and ends, so a CodeLens can run one. Semicolons inside strings, quoted names and
// comments don't end a statement.

/** The binding comment a scratch file starts with. */
export const BINDING = /^\s*--\s*zdx:\s*(duckdb|parquet)\s+(.+?)\s*$/i;

export type BoundKind = 'duckdb' | 'parquet';

export function bindingLine(path: string, kind: BoundKind = 'duckdb'): string {
  return `-- zdx: ${kind} ${path}`;
}

/** The DuckDB file or Parquet folder a scratch file names on one of its first lines (the path as written: relative or absolute), or undefined. */
export function boundTo(text: string): { kind: BoundKind; path: string } | undefined {
  for (const line of text.split(/\r?\n/, 5)) {
    const m = BINDING.exec(line);
    if (m) return { kind: m[1].toLowerCase() as BoundKind, path: m[2] };
  }
  return undefined;
}

export interface Statement {
  /** Offsets in the text: from the statement's first character that is not blank or comment, to just after its last one (a trailing comment is not part of it). */
  start: number;
  end: number;
  /** The statement's text, without the `;` and comments after it. */
  sql: string;
}

/** The statements of a text, each with its offsets; blank and comment-only parts are none. */
export function splitStatements(text: string): Statement[] {
  const out: Statement[] = [];
  let start = -1;
  /** Just after the statement's last character that is not blank or comment. */
  let end = -1;
  let i = 0;
  const close = () => {
    if (start >= 0) out.push({ start, end, sql: text.slice(start, end) });
    start = -1;
  };
  while (i < text.length) {
    const c = text[i];
    const next = text[i + 1];
    if (c === '-' && next === '-') {
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? text.length : nl + 1;
      continue;
    }
    if (c === '/' && next === '*') {
      const endAt = text.indexOf('*/', i + 2);
      i = endAt < 0 ? text.length : endAt + 2;
      continue;
    }
    if (c === ';') {
      close();
      i++;
      continue;
    }
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (start < 0) start = i;
    if (c === '\'' || c === '"') {
      // A quote ends at the next one that isn't doubled.
      let j = i + 1;
      while (j < text.length) {
        if (text[j] === c) {
          if (text[j + 1] === c) j += 2;
          else break;
        } else j++;
      }
      i = Math.min(j + 1, text.length);
      end = i;
      continue;
    }
    if (c === '$') {
      // Dollar quoting: $tag$ … $tag$.
      const tag = /^\$[A-Za-z_]*\$/.exec(text.slice(i, i + 64))?.[0];
      if (tag) {
        const endAt = text.indexOf(tag, i + tag.length);
        i = endAt < 0 ? text.length : endAt + tag.length;
        end = i;
        continue;
      }
    }
    i++;
    end = i;
  }
  close();
  return out.filter((s) => s.sql.length > 0);
}
