// The engine's public API: what the CLI, the server and the simulator's tests import.
export * from './catalogue';
export * from './model';
export { ExportError } from './errors';
export { runExport, type ExportRequest, type ExportResult } from './exporter';
export { checkConnection, type ConnectionCheckResult } from './connectionCheck';
export { connectionFromUrl, validateBaseUrl, describeErrorBody, ZendeskClient, API_PATHS, type ApiPath } from './http';
export { authorizationHeader } from './auth';
export { parseRetryAfter, backoffDelayMs, DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry';
export { readRateLimitHeaders, parseLimitFields, type RateLimitInfo } from './rateLimit';
export { BoundaryDedupe, dedupeKey, recordTimestamp } from './dedupe';
export { MIN_START_AGE_SECONDS } from './pagination';
export * from './startTime';
export * from './query';
export * from './querySchema';
export * from './checkpoint';
export * from './output/index';
