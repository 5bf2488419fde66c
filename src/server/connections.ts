// The connections the client told the server about (names, base URLs, auth kinds; never secrets):
// reading them from settings (edited by hand, sent by different clients, so leniently), and finding
// the one a query or request names.
import { settingBaseUrl } from '../engine/zendesk';
import type { ConnectionRef, ConnectionSpec } from '../protocol/customMessages';
import { ServerFailure } from './failures';

/**
 * Accepts what arrives in initializationOptions.connections or didChangeConfiguration settings:
 * `{ zendesk: { connections } }`, `{ connections }` or the list itself, where the list is an array of
 * entries or an object keyed by name, and an entry has `baseUrl` | `url` | `subdomain`, `auth` | `authKind`, `email`.
 * Returns undefined when the value holds no connection list at all (so "unknown connection" stays quiet).
 */
export function parseConnections(settings: unknown): ConnectionRef[] | undefined {
  const list = findList(settings);
  if (list === undefined) return undefined;
  const entries: [string | undefined, unknown][] = Array.isArray(list)
    ? list.map((e) => [undefined, e])
    : Object.entries(list);
  const out: ConnectionRef[] = [];
  for (const [key, raw] of entries) {
    if (!isObject(raw)) continue;
    const name = typeof raw.name === 'string' && raw.name.trim() ? raw.name : key;
    if (!name) continue;
    const ref: ConnectionRef = { name, baseUrl: baseUrlOf(raw), auth: raw.auth === 'oauth' || raw.authKind === 'oauth' ? 'oauth' : 'apiToken' };
    if (typeof raw.email === 'string' && raw.email) ref.email = raw.email;
    out.push(ref);
  }
  return out;
}

/** The connection a spec names: the entry itself, or the configured connection of that name. */
export function findConnection(spec: ConnectionSpec | undefined, known: ConnectionRef[] | undefined): ConnectionRef {
  if (spec === undefined || spec === '') {
    throw new ServerFailure('unknownConnection', 'The query names no connection; add "connection" to it or choose one when running it.');
  }
  if (typeof spec !== 'string') {
    if (!spec.baseUrl) throw new ServerFailure('unknownConnection', `The connection "${spec.name}" has no URL or subdomain.`);
    return spec;
  }
  const ref = known?.find((c) => c.name === spec);
  if (!ref) {
    throw new ServerFailure('unknownConnection', known?.length
      ? `There is no connection named "${spec}"; configured connections: ${known.map((c) => c.name).join(', ')}.`
      : `There is no connection named "${spec}"; no connections are configured.`);
  }
  if (!ref.baseUrl) throw new ServerFailure('unknownConnection', `The connection "${spec}" has no URL or subdomain.`);
  return ref;
}

function findList(settings: unknown): unknown[] | Record<string, unknown> | undefined {
  if (Array.isArray(settings)) return settings as unknown[];
  if (!isObject(settings)) return undefined;
  if (isObject(settings.zendesk)) return findList(settings.zendesk);
  const c = settings.connections;
  if (Array.isArray(c) || isObject(c)) return c;
  return undefined;
}

function baseUrlOf(raw: Record<string, unknown>): string {
  return settingBaseUrl({ url: typeof raw.baseUrl === 'string' ? raw.baseUrl : raw.url, subdomain: raw.subdomain });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
