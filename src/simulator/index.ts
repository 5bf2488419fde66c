// Public entry of the Zendesk simulator: a real HTTP server that behaves like Zendesk's
// Incremental Export API, with generated data, rate limits and injectable faults.
export { startSimulator } from './server';
export { DEFAULT_COUNTS, ADMIN_USER_ID, AGENT_USER_ID } from './dataset';
export { EPOCH, SPAN_SECONDS } from './stream';
export { encodeExportCursor, decodeExportCursor } from './pagination';
export { FAULT_KINDS, parseFaultSpec } from './faults';
export { FIELD_RENAME_AFTER_SECONDS } from './fields';
export { DEFAULT_CHANGES_PER_MINUTE } from './live';
export {
  DOCUMENTED_ACCOUNT_PER_MINUTE, DOCUMENTED_BUDGETS, DOCUMENTED_HIGH_VOLUME_ACCOUNT_PER_MINUTE, DOCUMENTED_HIGH_VOLUME_BUDGETS,
} from './rateLimit';
export { DEFAULT_OAUTH_CLIENT, type SimulatorOAuthClient, type SimulatorOAuthOptions } from './oauth';
export type {
  AccountCredentials, CountName, CurrentRecord, CurrentResource, ExpectedOptions, Fault, FaultKind, FaultScope, HeldRequest,
  HoldOptions, LiveOptions, MutationResult, RateBudget, RateFamily, RateLimitOptions, RequestLogEntry, RoutingEndpointId,
  RunningSimulator, SimulatorOptions, SimulatorStats,
} from './types';
