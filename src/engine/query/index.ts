// The query room: the saved-query language. One loader (strict JSON, bounded, validated once,
// resolved into what the exporter runs with its digest), its validation with JSON paths for the
// editor, and the start times people write.
export * from './model';
export { parseQueryText, withinQueryBounds, readQueryFile, loadQuery, loadQueryFile, invalidQueryError, MAX_QUERY_BYTES, type LoadOptions, type ParsedQueryText } from './load';
export { isInside, postgresLabel, type ResolveOptions } from './resolve';
export {
  validateSavedQuery, OUTPUT_FORMATS, TABLE_FORMATS, QUERY_FORMATS, DELETIONS_MODES, SUPPORT_TYPE_SCOPES, DEFAULT_SUPPORT_TYPE_SCOPE,
  DEFAULT_SCHEMA, SCHEMA_NAME_PATTERN, isTableFormat, isPostgresUrl, postgresUrlProblem, type QueryProblem,
} from './validate';
export { describeQuery } from './describe';
export * from './startTime';
export { slug } from './slug';
