// The export room: one run of a query (pages pulled by the pagination drivers, deduped, written to
// the outputs, then checkpointed), and the files it leaves: outputs and their checkpoint.
export * from './model';
export { prepareExport, runExport, type ExportRequest, type ExportResult, type PreparedExport } from './exporter';
export { fileTarget } from './fileTarget';
export type { ExportTarget, TargetWriter, CommitPage, StoredState } from './target';
export { BoundaryDedupe, dedupeKey, recordTimestamp } from './dedupe';
export { checkpointPathFor, loadCheckpoint, readCheckpoint, writeCheckpointAtomic, checkpointShapeProblem } from './checkpoint';
export { syncDirectory, writeFileAtomic } from './durableFile';
export { acquireLock, type ReleaseLock } from './lock';
export { openOutput, sideloadPath, type OutputSink } from './output/sink';
export { createFormatWriter, FORMAT_EXTENSIONS } from './output/formats';
export type { FormatWriter } from './output/formatWriter';
export { parseCsv, flattenRecord, csvCell, CsvTableWriter, EXTRA_COLUMN, type CsvFieldNames } from './output/csv';
