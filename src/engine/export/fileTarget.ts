// The file target: the output (JSON Lines, CSV or a JSON array) and sideload files, with the
// checkpoint in a file beside them, written after the page is fsynced.
import type { ResolvedQuery } from '../query';
import { loadCheckpoint, writeCheckpointAtomic } from './checkpoint';
import type { Checkpoint } from './model';
import { openOutput } from './output/sink';
import type { CommitPage, ExportTarget, StoredState, TargetWriter } from './target';

export function fileTarget(query: ResolvedQuery, checkpointPath: string): ExportTarget {
  return {
    checkpointLocation: checkpointPath,
    readCheckpoint: () => loadCheckpoint(checkpointPath, query),
    async open(previous: Checkpoint | null): Promise<TargetWriter> {
      const sink = await openOutput({
        path: query.output.path,
        format: query.output.format,
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
