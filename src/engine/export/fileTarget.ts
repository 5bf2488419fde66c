// The file target: the output (JSON Lines, CSV or a JSON array) and sideload files, with the
// checkpoint in a file beside them, written after the page is fsynced.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ExportError } from '../errors';
import { isInside, isTableFormat, type OutputFormat, type ResolvedQuery } from '../query';
import { checkpointConsistencyProblem, checkpointShapeProblem, corrupt, loadCheckpoint, writeCheckpointAtomic } from './checkpoint';
import { acquireLock } from './lock';
import type { Checkpoint } from './model';
import type { CsvFieldNames } from './output/csv';
import { FORMAT_EXTENSIONS } from './output/formats';
import { openOutput, sideloadPath } from './output/sink';
import type { CommitPage, ExportTarget, StoredState, TargetWriter } from './target';

/** `csvFields`: names for a CSV's custom-field columns, asked when the output opens (the tables room builds them from Zendesk's field lists). */
export function fileTarget(query: ResolvedQuery, checkpointPath: string, opts: { csvFields?: () => Promise<CsvFieldNames | null> } = {}): ExportTarget {
  const format = query.output.format;
  // Table outputs have their own targets (src/engine/tables: targetFor).
  if (isTableFormat(format)) throw new ExportError('invalidQuery', `A ${format} output is written by a table target, not to files; pick the target with targetFor(query).`);
  return {
    checkpointLocation: checkpointPath,
    async lock() {
      if (query.outputRoot !== undefined) {
        await assertStaysInside(path.dirname(query.output.path), query.outputRoot);
        await assertStaysInside(path.dirname(checkpointPath), query.outputRoot);
      }
      return acquireLock(`${checkpointPath}.lock`, query.output.path);
    },
    async discard(): Promise<void> {
      const output = query.output.path;
      const sideloads = (query.params.include ?? []).map((key) => sideloadPath(output, key, format));
      for (const f of [checkpointPath, output, ...sideloads]) await fs.rm(f, { force: true });
    },
    async readCheckpoint() {
      const cp = await loadCheckpoint(checkpointPath, query);
      const problem = cp && filesProblem(cp, query);
      if (problem) throw corrupt(checkpointPath, problem);
      return cp;
    },
    async open(previous: Checkpoint | null): Promise<TargetWriter> {
      let checkpointed = previous !== null;
      const csvFields = format === 'csv' && opts.csvFields ? await opts.csvFields() : null;
      const sink = await openOutput({
        path: query.output.path,
        format,
        resource: query.resource,
        resume: previous ? { files: previous.files, writerState: previous.writerState } : null,
        csvFields,
      }).catch((err: unknown) => { throw withAdvice(err, checkpointed); });
      return {
        get paths() {
          return sink.paths;
        },
        async commit(page: CommitPage, checkpointOf: (stored: StoredState) => Checkpoint): Promise<Checkpoint> {
          try {
            await sink.writePage(page.records, page.sideloads);
            if (page.endOfStream) await sink.finish();
          } catch (err) {
            throw withAdvice(err, checkpointed);
          }
          const checkpoint = checkpointOf(sink.state());
          // Never write a checkpoint this tool would refuse to read (a server's timestamps in the future, say).
          const problem = checkpointShapeProblem(checkpoint) ?? checkpointConsistencyProblem(checkpoint, query) ?? filesProblem(checkpoint, query);
          if (problem) {
            throw new ExportError('server', `Zendesk's answer would leave a checkpoint this tool could not read back (${problem}); the export stopped at the last complete page.`);
          }
          await writeCheckpointAtomic(checkpointPath, checkpoint);
          checkpointed = true;
          return checkpoint;
        },
        close: () => sink.close(),
      };
    },
  };
}

/**
 * A folder inside the root by name may still lead elsewhere through a symlink (`out` → /etc): the
 * nearest folder that exists must resolve inside the root's real path too.
 */
async function assertStaysInside(dir: string, root: string): Promise<void> {
  let existing = dir;
  for (;;) {
    try {
      const real = await fs.realpath(existing);
      const realRoot = await fs.realpath(root);
      if (!isInside(real, realRoot)) {
        throw new ExportError('invalidQuery', `The output folder ${dir} leads outside the workspace folder ${root} (through a symbolic link, to ${real}); outputs and their checkpoints stay in the workspace.`);
      }
      return;
    } catch (err) {
      if (err instanceof ExportError) throw err;
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || path.dirname(existing) === existing) throw err;
      existing = path.dirname(existing);
    }
  }
}

/** What to do after a failed write depends on whether a checkpoint already covers part of the output. */
function withAdvice(err: unknown, checkpointed: boolean): unknown {
  if (!(err instanceof ExportError) || err.code !== 'io') return err;
  const advice = checkpointed
    ? 'the last checkpoint is still valid, so resume once that is fixed'
    : 'no checkpoint was saved yet, so run the export again once that is fixed';
  return new ExportError('io', `${err.message.replace(/\.$/, '')}; ${advice}.`, err.details);
}

/**
 * The files a checkpoint lists must be this query's own (its output, or a sideload beside it), and an
 * export that counted records must list its output: otherwise a resume would truncate someone else's
 * file, or recreate the output empty while the checkpoint still claims what it held.
 */
function filesProblem(cp: Checkpoint, query: ResolvedQuery): string | null {
  const main = path.basename(query.output.path);
  const dot = main.lastIndexOf('.');
  const stem = dot > 0 ? main.slice(0, dot) : main;
  const sideload = new RegExp(`^${escapeRegExp(stem)}\\.[A-Za-z0-9_-]+\\.${FORMAT_EXTENSIONS[query.output.format as OutputFormat]}$`);
  const foreign = Object.keys(cp.files).find((f) => path.basename(f) !== main && !sideload.test(path.basename(f)));
  if (foreign) return `it lists ${foreign}, which is not an output of this query`;
  const mainLength = Object.entries(cp.files).find(([f]) => path.basename(f) === main)?.[1];
  if (cp.records > 0 && !mainLength) return `it counts ${cp.records} records but lists no bytes of the output ${main}`;
  return null;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
