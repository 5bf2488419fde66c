// The Zendesk client room: what Zendesk's Incremental Export API is (the catalogue), how to reach it
// (connection URLs, credentials, OAuth), and how to talk to it (the typed client with its pacing,
// retries and origin guard).
export * from './catalogue';
export * from './model';
export { ZendeskClient, type ZendeskField, describeErrorBody, DEFAULT_MAX_WAIT_MS, DEFAULT_MAX_BODY_BYTES, type ApiOutcome, type ApiRequest, type ClientOptions, type Emit, type PerPageState } from './client';
export { API_PATHS, type ApiPath, type ApiQuery, type QueryOf } from './api';
export { connectionFromUrl, validateBaseUrl, settingBaseUrl, isLoopbackHost, isLoopbackUrl } from './connectionUrl';
export { authorizationHeader } from './auth';
export * from './oauth';
export { startLoopbackReceiver, type LoopbackReceiver } from './oauthLoopback';
export { readRateLimitHeaders, parseLimitFields, limitersFor, type RateLimitInfo } from './rateLimit';
export { parseRetryAfter, backoffDelayMs, halvePerPage, sleep, DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry';
export { checkConnection, type ConnectionCheckResult } from './connectionCheck';
export { redactSecrets } from './redact';
