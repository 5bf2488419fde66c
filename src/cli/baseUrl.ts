// The Zendesk account a command talks to: --url or --subdomain, else ZENDESK_URL or ZENDESK_SUBDOMAIN.
import { connectionFromUrl } from '../engine/zendesk';
import { UsageError } from './exitCodes';
import { nonEmpty, type Env } from './io';

export interface AccountFlags {
  url?: string;
  subdomain?: string;
}

/** The normalised base URL, validated by the engine (https, loopback-only http, subdomain syntax). */
export function resolveBaseUrl(flags: AccountFlags, env: Env): string {
  if (flags.url && flags.subdomain) throw new UsageError('Pass either --url or --subdomain, not both.');
  let url = nonEmpty(flags.url);
  let subdomain = nonEmpty(flags.subdomain);
  if (!url && !subdomain) {
    url = nonEmpty(env.ZENDESK_URL);
    subdomain = url ? undefined : nonEmpty(env.ZENDESK_SUBDOMAIN);
  }
  if (!url && !subdomain) {
    throw new UsageError('No Zendesk account given: pass --subdomain NAME or --url BASE_URL, or set ZENDESK_SUBDOMAIN or ZENDESK_URL.');
  }
  // Only the URL is wanted here; the placeholder credentials are never used.
  return connectionFromUrl({ url, subdomain, credentials: { kind: 'oauth', accessToken: '' } }).baseUrl;
}
