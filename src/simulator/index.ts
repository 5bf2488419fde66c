// Public entry of the Zendesk simulator: a real HTTP server that behaves like Zendesk's
// Incremental Export API, with generated data, rate limits and injectable faults.
export { startSimulator } from './server';
export { DEFAULT_COUNTS, ADMIN_USER_ID, AGENT_USER_ID } from './dataset';
export { EPOCH } from './stream';
export { encodeExportCursor, decodeExportCursor } from './pagination';
export { FAULT_KINDS, parseFaultSpec } from './faults';
export { DEFAULT_OAUTH_CLIENT, type SimulatorOAuthClient, type SimulatorOAuthOptions } from './oauth';
export type {
  AccountCredentials, CountName, ExpectedOptions, Fault, FaultKind, FaultScope, MutationResult, RateLimitOptions,
  RequestLogEntry, RoutingEndpointId, RunningSimulator, SimulatorOptions, SimulatorStats,
} from './types';
