// Turns the start time a person writes (ISO, Unix seconds, relative) into the Unix seconds Zendesk wants.
import { ExportError } from '../errors';

/** Zendesk never returns the most recent minute, and rejects a start_time inside it (api-behaviour §2, §7). */
export const MIN_START_AGE_SECONDS = 61;

/** Unix seconds reach 1e11 only in the year 5138: anything larger is milliseconds. */
const MILLISECONDS_THRESHOLD = 1e11;

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

const ACCEPTED_FORMS =
  'use an ISO date or date-time (2024-01-31, 2024-01-31T08:00:00Z), Unix seconds (1706688000), ' +
  'or a relative time such as -7d, -12h, -30m, -45s or -2w';

const RELATIVE = /^(now)?\s*([-+])\s*(\d+)\s*([smhdw])$/i;
const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?\s*([Zz]|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * Parse a start time and clamp it to [0, now − 61].
 * A date-time without a zone is read as UTC, so a query file means the same on every machine.
 * Throws ExportError('futureStartTime') for a time after now, ExportError('invalidQuery') for anything unreadable.
 */
export function parseStartTime(input: string | number, nowSeconds: number): number {
  const seconds = toUnixSeconds(input, nowSeconds);
  if (seconds > nowSeconds) {
    throw new ExportError(
      'futureStartTime',
      `The start time ${formatUnix(seconds)} is in the future; Zendesk only exports what already happened.`,
    );
  }
  return Math.max(0, Math.min(seconds, Math.floor(nowSeconds) - MIN_START_AGE_SECONDS));
}

/** The unclamped Unix seconds a start time stands for; throws ExportError('invalidQuery') when unreadable. */
export function toUnixSeconds(input: string | number, nowSeconds: number): number {
  if (typeof input === 'number') return fromNumber(input, String(input));
  if (typeof input !== 'string') throw invalid(String(input));
  const text = input.trim();
  if (text === '') {
    throw new ExportError('invalidQuery', `The start time is empty; ${ACCEPTED_FORMS}.`);
  }
  if (/^\d+$/.test(text)) return fromNumber(Number(text), text);
  if (/^now$/i.test(text)) return Math.floor(nowSeconds);

  const rel = RELATIVE.exec(text);
  if (rel) {
    const amount = Number(rel[3]) * UNIT_SECONDS[rel[4].toLowerCase()];
    return Math.floor(nowSeconds) + (rel[2] === '-' ? -amount : amount);
  }
  const d = DATE_ONLY.exec(text);
  if (d) return fromParts(text, +d[1], +d[2], +d[3], 0, 0, 0, 0);
  const dt = DATE_TIME.exec(text);
  if (dt) {
    const offset = dt[8] ? zoneOffsetSeconds(dt[8], text) : 0;
    return fromParts(text, +dt[1], +dt[2], +dt[3], +dt[4], +dt[5], dt[6] ? +dt[6] : 0, offset);
  }
  if (/^\d+\s*[smhdw]$/i.test(text)) {
    throw new ExportError('invalidQuery', `The start time "${text}" has no sign; write -${text.replace(/\s+/g, '')} for that long ago.`);
  }
  throw invalid(text);
}

/** Format Unix seconds as an ISO date-time without milliseconds, for messages and UIs. */
export function formatUnix(seconds: number): string {
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? String(seconds) : date.toISOString().replace('.000Z', 'Z');
}

function fromNumber(value: number, written: string): number {
  if (!Number.isFinite(value)) throw invalid(written);
  if (value > MILLISECONDS_THRESHOLD) {
    throw new ExportError(
      'invalidQuery',
      `The start time ${written} looks like milliseconds; Zendesk expects Unix seconds, e.g. ${Math.floor(value / 1000)}.`,
    );
  }
  if (value < 0) {
    throw new ExportError('invalidQuery', `The start time ${written} is negative; Unix seconds count from 1970-01-01 (0).`);
  }
  if (!Number.isInteger(value)) {
    throw new ExportError('invalidQuery', `The start time ${written} is not a whole number of seconds; use ${Math.floor(value)}.`);
  }
  return value;
}

function fromParts(text: string, y: number, mo: number, d: number, h: number, mi: number, s: number, offset: number): number {
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(ms);
  // Date.UTC rolls 2024-02-30 over to March; a date that doesn't round-trip doesn't exist.
  const real = back.getUTCFullYear() === y && back.getUTCMonth() === mo - 1 && back.getUTCDate() === d && h < 24 && mi < 60 && s < 60;
  if (!real) {
    throw new ExportError('invalidQuery', `The start time "${text}" is not a real date or time; ${ACCEPTED_FORMS}.`);
  }
  return Math.floor(ms / 1000) - offset;
}

function zoneOffsetSeconds(zone: string, text: string): number {
  if (zone === 'Z' || zone === 'z') return 0;
  const m = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone);
  const hours = m ? Number(m[2]) : 99;
  const minutes = m?.[3] ? Number(m[3]) : 0;
  if (!m || hours > 14 || minutes > 59) {
    throw new ExportError('invalidQuery', `The start time "${text}" has an impossible time zone offset ${zone}.`);
  }
  return (m[1] === '-' ? -1 : 1) * (hours * 3600 + minutes * 60);
}

function invalid(text: string): ExportError {
  return new ExportError('invalidQuery', `The start time "${text}" isn't a time Zendesk export understands; ${ACCEPTED_FORMS}.`);
}
