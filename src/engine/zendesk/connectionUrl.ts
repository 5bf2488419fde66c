// Where a connection points: a subdomain or base URL turned into an origin, HTTPS only (plain HTTP
// only on loopback, where the simulator runs), and the one definition of "loopback".
import { ExportError } from '../errors';
import type { Connection, Credentials } from './model';

const LOOPBACK_HOSTS = new Set(['localhost', '[::1]', '::1']);

/** Loopback by address or the name `localhost`; `*.localhost` is not: the OS may resolve it through DNS. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  return LOOPBACK_HOSTS.has(host) || /^127(\.\d{1,3}){3}$/.test(host);
}

/** Whether a URL points at this machine (the simulator): plain HTTP is allowed there, and it is not Zendesk. */
export function isLoopbackUrl(url: string | undefined): boolean {
  if (!url) return false;
  try {
    return isLoopbackHost(new URL(url).hostname);
  } catch {
    return false;
  }
}

/**
 * The origin of a base URL, or ExportError('insecureUrl'): HTTPS only, plain HTTP only on loopback
 * (the simulator), because the Authorization header must never travel in clear text.
 */
export function validateBaseUrl(baseUrl: string): string {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new ExportError('insecureUrl', `"${baseUrl}" is not a URL; use https://<subdomain>.zendesk.com or give just the subdomain.`);
  }
  if (url.protocol === 'https:') return url.origin;
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return url.origin;
  if (url.protocol === 'http:') {
    throw new ExportError('insecureUrl', `${url.origin} uses plain HTTP; Zendesk credentials are only sent over HTTPS (plain HTTP is allowed for loopback addresses such as the simulator).`);
  }
  throw new ExportError('insecureUrl', `${baseUrl} is not an https:// URL; use https://<subdomain>.zendesk.com.`);
}

const SUBDOMAIN = /^[a-z0-9][a-z0-9-]{0,62}$/i;

/**
 * The base URL a hand-edited connection setting names, unvalidated: its URL without trailing
 * slashes, else https://<subdomain>.zendesk.com, else ''. The URL wins, as in the settings UI.
 */
export function settingBaseUrl(setting: { url?: unknown; subdomain?: unknown }): string {
  const url = typeof setting.url === 'string' ? setting.url.trim().replace(/\/+$/, '') : '';
  if (url) return url;
  const subdomain = typeof setting.subdomain === 'string' ? setting.subdomain.trim().toLowerCase() : '';
  return subdomain ? `https://${subdomain}.zendesk.com` : '';
}

/** A Connection from a subdomain (https://<sub>.zendesk.com) or a full base URL. */
export function connectionFromUrl(opts: { subdomain?: string; url?: string; credentials: Credentials }): Connection {
  const sub = opts.subdomain?.trim();
  if (sub) {
    if (!SUBDOMAIN.test(sub)) {
      const hint = sub.includes('.') || sub.includes('/')
        ? ` give only the first part of the address, e.g. "${(sub.replace(/^[a-z]+:\/\//i, '').split(/[./]/)[0] || 'acme')}" for ${sub.replace(/^[a-z]+:\/\//i, '').split('/')[0]}, or pass it as a URL`
        : ' it may contain only letters, digits and hyphens and must start with a letter or digit';
      throw new ExportError('invalidQuery', `"${sub}" is not a Zendesk subdomain:${hint}.`);
    }
    return { baseUrl: `https://${sub.toLowerCase()}.zendesk.com`, credentials: opts.credentials };
  }
  if (opts.url?.trim()) {
    return { baseUrl: validateBaseUrl(opts.url.trim()), credentials: opts.credentials };
  }
  throw new ExportError('invalidQuery', 'No Zendesk account given: pass a subdomain (acme for acme.zendesk.com) or a base URL.');
}
