// Runs the real `zdx` CLI as a child process (node --import tsx src/cli/main.ts), the way a person
// or a cron job would, and reads output files back for comparison with the simulator's oracle.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export const REPO = resolve(__dirname, '..', '..');
export const CLI_ENTRY = join(REPO, 'src', 'cli', 'main.ts');
/** tsx's loader by absolute URL: the children run in temp folders where `--import tsx` wouldn't resolve. */
export const TSX_LOADER = pathToFileURL(join(REPO, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliRun {
  child: ChildProcess;
  done: Promise<CliResult>;
  /** Called with every complete stdout line as it arrives. */
  onLine(cb: (line: string) => void): void;
}

/** The environment without any Zendesk settings of the machine running the tests. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ZENDESK_') && !k.startsWith('ZDX_')) env[k] = v;
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

export function startCli(args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; stdin?: string }): CliRun {
  const child = spawn(process.execPath, ['--import', TSX_LOADER, CLI_ENTRY, ...args], {
    cwd: opts.cwd,
    env: opts.env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let partial = '';
  const lineListeners: ((line: string) => void)[] = [];
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    stdout += chunk;
    partial += chunk;
    let nl: number;
    while ((nl = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      for (const l of lineListeners) l(line);
    }
  });
  child.stderr!.on('data', (chunk: string) => { stderr += chunk; });
  if (opts.stdin !== undefined) child.stdin!.end(opts.stdin);
  else child.stdin!.end();
  const done = new Promise<CliResult>((resolveDone, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolveDone({ code, signal, stdout, stderr }));
  });
  return { child, done, onLine: (cb) => lineListeners.push(cb) };
}

export function runCli(args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; stdin?: string }): Promise<CliResult> {
  return startCli(args, opts).done;
}

/**
 * The "zdx: " lines of stderr that report a failure: without the notes a run starts with (e.g. what
 * a small --per-page costs), which are not about how it ended.
 */
export function zdxFailureLines(stderr: string): string[] {
  return stderr.split('\n').map((l) => l.trimEnd()).filter((l) => l.startsWith('zdx: ') && !l.startsWith('zdx: note: '));
}

/** `id:timestamp` keys of the records in a JSON Lines file. */
export function jsonlKeys(file: string, tsField = 'generated_timestamp'): string[] {
  const text = readFileSync(file, 'utf8');
  return text.split('\n').filter((l) => l !== '').map((l) => {
    const r = JSON.parse(l) as Record<string, unknown>;
    return `${r.id}:${r[tsField]}`;
  });
}

export function jsonArrayKeys(file: string, tsField = 'generated_timestamp'): string[] {
  const arr = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>[];
  return arr.map((r) => `${r.id}:${r[tsField]}`);
}

/** A small RFC 4180 reader, independent of the engine's writer so the test can catch its mistakes. */
export function readCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { cell += '"'; i++; }
      else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') { row.push(cell); cell = ''; }
    else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(cell); rows.push(row); row = []; cell = '';
    } else cell += ch;
  }
  if (cell !== '' || row.length) { row.push(cell); rows.push(row); }
  return rows;
}

export function csvKeys(file: string, tsField = 'generated_timestamp'): string[] {
  const [header, ...rows] = readCsv(readFileSync(file, 'utf8'));
  const id = header.indexOf('id');
  const ts = header.indexOf(tsField);
  if (id < 0 || ts < 0) throw new Error(`CSV header lacks id or ${tsField}: ${header.slice(0, 10).join(',')}`);
  return rows.map((r) => `${r[id]}:${r[ts]}`);
}

export function expectedKeys(list: { id: number | string; ts: number }[]): string[] {
  return list.map((r) => `${r.id}:${r.ts}`);
}

/** Path → sha256 of every file under dir: "this failure changed no files" is a comparison of two snapshots. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out[p] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

export function duplicates(keys: string[]): string[] {
  const seen = new Set<string>();
  const dups: string[] = [];
  for (const k of keys) {
    if (seen.has(k)) dups.push(k);
    seen.add(k);
  }
  return dups;
}

/** Deterministic randomness, with the seed in failure messages so a failing run can be replayed. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
