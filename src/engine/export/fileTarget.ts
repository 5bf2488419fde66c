// The file target: the output (JSON Lines, CSV or a JSON array) and sideload files, with the
// checkpoint in a file beside them, written after the page is fsynced.
import { isTableFormat, type ResolvedQuery } from '../query';
import { ExportError } from '../errors';
import { loadCheckpoint, writeCheckpointAtomic } from './checkpoint';
import type { Checkpoint } from './model';
import { openOutput } from './output/sink';
import type { CommitPage, ExportTarget, StoredState, TargetWriter } from './target';

export function fileTarget(query: ResolvedQuery, checkpointPath: string): ExportTarget {
  const format = query.output.format;
  // Table outputs have their own targets (src/engine/tables: targetFor).
  if (isTableFormat(format)) throw new ExportError('invalidQuery', `A ${format} output is written by a table target, not to files; pick the target with targetFor(query).`);
  return {
    checkpointLocation: checkpointPath,
    readCheckpoint: () => loadCheckpoint(checkpointPath, query),
    async open(previous: Checkpoint | null): Promise<TargetWriter> {
      const sink = await openOutput({
        path: query.output.path,
        format,
        resource: query.resource,
        resume: previous ? { files: previous.files, writerState: previous.writerState } : null,
      });
      return {
        get paths() {
          return sink.paths;
        },
        async commit(page: CommitPage, checkpointOf: (stored: StoredState) => Checkpoint): Promise<Checkpoint> {
          await sink.writePage(page.records, page.sideloads);
          if (page.endOfStream) await sink.finish();
          const checkpoint = checkpointOf(sink.state());
          await writeCheckpointAtomic(checkpointPath, checkpoint);
          return checkpoint;
        },
        close: () => sink.close(),
      };
    },
  };
}
