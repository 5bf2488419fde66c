// The read-only reference folder (Zendesk's official OpenAPI document, recorded traffic) sits beside
// the repository, in development and in CI alike; ZDX_SHARED_DIR points elsewhere when it doesn't.
import * as path from 'node:path';

export const SHARED_ZENDESK_DIR = path.join(
  process.env.ZDX_SHARED_DIR ?? path.resolve(__dirname, '..', '..', '..', 'shared'),
  'zendesk',
);
