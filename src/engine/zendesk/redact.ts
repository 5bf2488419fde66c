/**
 * Replaces every occurrence of the given secrets in a text. Used where a third-party logger may
 * print message contents (the language client's protocol trace), so a token never reaches a log.
 */
export function redactSecrets(text: string, secrets: Iterable<string>): string {
  let out = text;
  for (const secret of secrets) {
    // Very short strings would redact ordinary words; real tokens are long.
    if (secret.length >= 8 && out.includes(secret)) out = out.split(secret).join('«redacted»');
  }
  return out;
}
