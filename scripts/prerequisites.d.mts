// Types of prerequisites.mjs (a plain script: .ci/run runs it before npm ci), for the unit tests.
export declare const PACKAGES: Record<string, string>;
export declare const TEST_STEPS: string[];
export interface Needs {
  codeServer?: boolean;
  chromium?: boolean;
  keyring?: boolean;
  postgres?: boolean;
}
export declare function forTestSteps(steps: string[]): Required<Needs>;
export declare function chromiumPath(env?: NodeJS.ProcessEnv): string;
export declare function codeServerCached(env?: NodeJS.ProcessEnv): boolean;
export declare function neededPackages(opts: Needs & { cached?: boolean; env?: NodeJS.ProcessEnv }): string[];
export declare function missingPackages(packages: string[], env?: NodeJS.ProcessEnv): string[] | undefined;
export declare function installCommand(packages: string[]): string;
export declare class PrerequisiteError extends Error {}
export declare function ensurePrerequisites(opts?: Needs & {
  force?: boolean;
  env?: NodeJS.ProcessEnv;
  asRoot?: boolean;
  signal?: AbortSignal;
}): Promise<void>;
export declare function aptStatusText(line: string): string | undefined;
