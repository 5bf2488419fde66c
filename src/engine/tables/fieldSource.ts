// Field definitions from Zendesk (GET /api/v2/ticket_fields, /user_fields, /organization_fields),
// fetched once per run and kind, paced by the account's limit like every request and outside the
// incremental budgets. Ticket system fields (subject, status, …) are not custom fields and are left
// out. An account that may not list them (403) or doesn't have them (404) gets null: the columns
// are then named after field ids or keys, as when a record carries a field no list names.
import { ExportError } from '../errors';
import { ZendeskClient, type ClientOptions, type Connection, type ZendeskField } from '../zendesk';
import type { FieldDefinition, FieldKind, FieldSource } from './model';

/** `connection` may be a promise-returning function: an editor asks for credentials only when the run starts. */
export function zendeskFieldSource(connection: Connection | (() => Promise<Connection>), options: Omit<ClientOptions, 'connection' | 'signal'> = {}): FieldSource {
  const fetched = new Map<FieldKind, Promise<FieldDefinition[] | null>>();
  return {
    definitions(kind, signal) {
      let pending = fetched.get(kind);
      if (!pending) {
        pending = (async () => {
          const conn = typeof connection === 'function' ? await connection() : connection;
          const client = new ZendeskClient({ ...options, connection: conn, signal });
          try {
            return toDefinitions(kind, await client.listFields(kind));
          } catch (err) {
            if (err instanceof ExportError && (err.code === 'forbidden' || err.code === 'notFound')) return null;
            throw err;
          }
        })();
        fetched.set(kind, pending);
        // A failed or cancelled fetch is asked again next time.
        pending.catch(() => fetched.delete(kind));
      }
      return pending;
    },
  };
}

function toDefinitions(kind: FieldKind, fields: ZendeskField[]): FieldDefinition[] {
  const out: FieldDefinition[] = [];
  for (const f of fields) {
    if (kind === 'ticket' && (f as { removable?: unknown }).removable === false) continue;
    const key = kind === 'ticket' ? null : typeof f.key === 'string' ? f.key : null;
    if (typeof f.id !== 'number' || (kind !== 'ticket' && !key)) continue;
    out.push({ id: f.id, key, title: typeof f.title === 'string' ? f.title : String(f.id), type: typeof f.type === 'string' ? f.type : 'text', active: f.active !== false });
  }
  return out;
}
