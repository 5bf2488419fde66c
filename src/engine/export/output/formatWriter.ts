// How an output format turns a page of records into bytes (the contract every format implements).

export interface FormatWriter {
  /** Written when the file is created. */
  readonly prologue: string;
  /** Written after every page and overwritten by the next; never counted in the checkpoint length. */
  readonly epilogue: string;
  encode(records: Record<string, unknown>[]): string;
  /** Per-file state the checkpoint must keep (CSV columns), or null. */
  state(): unknown;
}
