// Text of a value read from JSON (a record's id, a field's title, a database cell): what String()
// gives for a scalar, JSON for an object or array, never "[object Object]" (an odd or hostile server
// can send an object where a number belongs, and two such ids must not become one key).

export function textOf(value: unknown): string {
  return value !== null && typeof value === 'object' ? JSON.stringify(value) : String(value);
}
