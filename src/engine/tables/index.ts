// The tables room: exports as analysis-ready tables. Per resource a change log (`<resource>_changes`,
// every exported version with its position), the current state (`<resource>`: the newest version of
// each id), deletions (`<resource>_deleted`, or a `_deleted` flag), custom fields as named columns
// (`cf_<title>`, mapped in `<resource>_fields`), sideloads as their own tables; in DuckDB, PostgreSQL
// or Parquet files. The checkpoint is stored with the rows, so they never disagree. Also the
// editor's reading side: list tables, read windows with sort/filter/search, run SQL, checkpoint info.
export * from './model';
export { targetFor, DUCKDB_MERGE_EVERY, type TargetOptions } from './targets';
export { LAYOUTS, tableNames, sideloadTable, CHECKPOINT_TABLE, type ResourceLayout } from './resources';
export { fieldColumnName, planFieldColumns, columnTypeOfField, csvFieldNames } from './customFields';
export { zendeskFieldSource } from './fieldSource';
export { loadDuckDb, isDuckDbBeingWritten } from './duckdb';
export { PARQUET_BATCH } from './parquet';
export { listTables, readWindow, tableRole, MAX_WINDOW_ROWS, ESTIMATE_ABOVE } from './browse';
export { runSql, DEFAULT_SQL_PAGE_ROWS, MAX_SQL_PAGE_ROWS } from './sqlQuery';
export { tableCheckpointInfo, tableSourceFor } from './status';
export { closeReaderPools as closeTableReaders } from './postgres';
