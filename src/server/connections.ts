// The connections the client told the server about (names, base URLs, auth kinds; never secrets).
// Settings are edited by hand and may come from different clients, so parsing is lenient.
import { settingBaseUrl } from '../engine/zendesk';
import type { ConnectionRef } from '../protocol/customMessages';

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

function findList(settings: unknown): unknown[] | Record<string, unknown> | undefined {
  if (Array.isArray(settings)) return settings;
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
