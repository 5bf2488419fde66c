// Checkpoints beside the output: read strictly (never "repaired"), written atomically so a crash at any
// moment leaves either the old checkpoint or the new one, never half of one.
import { constants, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ExportError } from '../errors';
import { writeFileAtomic } from './durableFile';
import type { ResolvedQuery } from '../query';
import { endpointById, type PaginationModel } from '../zendesk';
import type { Checkpoint, Position } from './model';

/** '<dir>/<basename-without-ext>.checkpoint.json' beside the output file. */
export function checkpointPathFor(outputPath: string): string {
  const dir = path.dirname(outputPath);
  const base = path.basename(outputPath);
  const dot = base.lastIndexOf('.');
  const stem = dot > 0 ? base.slice(0, dot) : base;
  return path.join(dir, `${stem}.checkpoint.json`);
}

/** Missing file -> null. Anything unreadable or malformed -> ExportError('checkpointCorrupt'); the file is left as it is. */
export async function readCheckpoint(file: string): Promise<Checkpoint | null> {
  let text: string;
  try {
    // Never through a symlink planted at the checkpoint's name.
    const handle = await fs.open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      text = await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return null;
    if (errnoCode(err) === 'ELOOP') throw corrupt(file, 'it is a symbolic link, which this tool never follows');
    throw corrupt(file, `it can't be read: ${errnoCode(err) ?? String(err)}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw corrupt(file, text.trim() === '' ? 'it is empty' : `it is not valid JSON: ${(err as Error).message}`);
  }
  const problem = checkpointShapeProblem(value);
  if (problem) throw corrupt(file, problem);
  return value as Checkpoint;
}

/**
 * The checkpoint of `query`: null when there is none yet; refused with one sentence when it is
 * damaged or was written for another query (its digest differs).
 */
export async function loadCheckpoint(file: string, query: ResolvedQuery): Promise<Checkpoint | null> {
  const cp = await readCheckpoint(file);
  if (cp && cp.queryDigest !== query.digest) {
    throw new ExportError(
      'checkpointMismatch',
      `The checkpoint ${file} belongs to a different query (it was written for ${cp.endpointId} with another start time, parameters, format or output); delete it or point the query at a new output to start over.`,
    );
  }
  const problem = cp && checkpointConsistencyProblem(cp, query);
  if (problem) throw corrupt(file, problem);
  return cp;
}

/** A position this far ahead of the local clock can't have come from Zendesk (whatever the clocks' skew). */
const FUTURE_TOLERANCE_SECONDS = 24 * 3600;

/**
 * What makes a well-formed checkpoint contradict its query or itself, or null. The engine checks every
 * checkpoint it is about to write with this too, so it never writes one it would refuse to read.
 */
export function checkpointConsistencyProblem(cp: Checkpoint, query: ResolvedQuery, nowSeconds: number = Date.now() / 1000): string | null {
  const form = endpointById(cp.endpointId);
  const queryForm = endpointById(query.endpointId);
  if (!form || !queryForm || form.resource !== query.resource || (form.id !== queryForm.id && !(queryForm.model === 'time' && form.model === 'cursor'))) {
    return `it names the endpoint ${cp.endpointId}, which a ${query.endpointId} export can't be at`;
  }
  if (cp.position !== null && !positionFits(cp.position.kind, form.model)) {
    return `its position is a ${cp.position.kind} position, which the ${form.id} endpoint doesn't use`;
  }
  if (cp.records > 0 && (cp.pages === 0 || cp.position === null)) {
    return `it counts ${cp.records} records but ${cp.pages === 0 ? 'no page' : 'no position'}`;
  }
  const ahead = [cp.position?.kind === 'time' ? cp.position.startTime : null, cp.lastRecordTime].find((t) => t !== null && t > nowSeconds + FUTURE_TOLERANCE_SECONDS);
  if (ahead !== undefined && ahead !== null) {
    return `its position ${new Date(ahead * 1000).toISOString()} lies in the future, so it can't have come from Zendesk`;
  }
  return null;
}

function positionFits(kind: Position['kind'], model: PaginationModel): boolean {
  switch (model) {
    case 'time':
    case 'sample': return kind === 'time';
    case 'cursor': return kind === 'cursor' || kind === 'time';
    case 'metricCursor': return kind === 'metricCursor' || kind === 'time';
    case 'routing': return kind === 'routing';
  }
}

/** Written atomically (see writeFileAtomic); on failure the previous checkpoint is untouched. */
export async function writeCheckpointAtomic(file: string, cp: Checkpoint): Promise<void> {
  try {
    await writeFileAtomic(file, `${JSON.stringify(cp, null, 2)}\n`);
  } catch (err) {
    throw ioError(file, err);
  }
}

/** Null when `value` is a well-formed version-1 checkpoint, otherwise what is wrong with it. */
export function checkpointShapeProblem(value: unknown): string | null {
  if (!isObject(value)) return 'it is not a JSON object';
  if (value.version !== 1) return `its version is ${JSON.stringify(value.version)}, this tool reads version 1`;
  const checks: [string, boolean][] = [
    ['queryDigest', typeof value.queryDigest === 'string'],
    ['endpointId', typeof value.endpointId === 'string'],
    ['position', value.position === null || isPosition(value.position)],
    ['lastRecordTime', value.lastRecordTime === null || isCount(value.lastRecordTime)],
    ['boundaryKeys', Array.isArray(value.boundaryKeys) && value.boundaryKeys.every((k) => typeof k === 'string')],
    ['perPage', value.perPage === null || (isCount(value.perPage) && value.perPage > 0)],
    ['files', isObject(value.files) && Object.values(value.files).every(isCount)],
    ['records', isCount(value.records)],
    ['pages', isCount(value.pages)],
    ['caughtUp', typeof value.caughtUp === 'boolean'],
    ['updatedAt', typeof value.updatedAt === 'string'],
  ];
  const bad = checks.filter(([, ok]) => !ok).map(([name]) => name);
  return bad.length ? `${bad.join(', ')} ${bad.length === 1 ? 'is' : 'are'} missing or malformed` : null;
}

function isPosition(p: unknown): p is Position {
  if (!isObject(p)) return false;
  switch (p.kind) {
    case 'time': return isCount(p.startTime);
    case 'cursor': return typeof p.cursor === 'string';
    case 'routing': return p.cursor === null || typeof p.cursor === 'string';
    case 'metricCursor': return typeof p.after === 'string';
    default: return false;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}

export function corrupt(file: string, why: string): ExportError {
  return new ExportError(
    'checkpointCorrupt',
    `The checkpoint ${file} is damaged (${why}); delete it to start over from the query's start time.`,
  );
}

function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

function ioError(file: string, err: unknown): ExportError {
  const code = errnoCode(err);
  const keep = 'the previous checkpoint is unchanged';
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return new ExportError('io', `The disk is full, so the checkpoint ${file} couldn't be saved; ${keep}. Free some space and resume.`, code);
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new ExportError('io', `There is no permission to write the checkpoint ${file} (${code}); ${keep}. Make its folder writable and resume.`, code);
    default:
      return new ExportError('io', `The checkpoint ${file} couldn't be saved (${code ?? (err as Error).message}); ${keep}.`, code);
  }
}
