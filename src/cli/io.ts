// What a command gets from its process: the working directory, the environment and the two output
// streams (tests pass their own).

export type Env = Record<string, string | undefined>;

export interface IO {
  cwd: string;
  env: Env;
  out: (text: string) => void;
  err: (text: string) => void;
}

/** A set environment variable or flag, trimmed; blank counts as unset. */
export function nonEmpty(v: string | undefined): string | undefined {
  return v !== undefined && v.trim() !== '' ? v.trim() : undefined;
}
