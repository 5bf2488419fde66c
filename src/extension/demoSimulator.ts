// "Start Demo Simulator": the built-in Zendesk simulator as a child process (never inside the
// extension host), plus a "Demo (simulator)" connection whose token is the simulator's fixed,
// public demo token.
import { spawn, type ChildProcess } from 'node:child_process';
import * as vscode from 'vscode';
import { baseUrlOf, originOf, type ConnectionSetting, type ConnectionStore } from './connectionStore';

export const DEMO_CONNECTION = 'Demo (simulator)';
/** The simulator's fixed demo account (src/simulator): fake credentials that only it accepts. */
export const DEMO_EMAIL = 'admin@example.com';
export const DEMO_TOKEN = 'sim-admin-token';
/** Set by `npm start` when it started a simulator itself; the extension then just connects to it. */
export const DEMO_URL_ENV = 'ZDX_DEMO_SIMULATOR_URL';

const START_TIMEOUT_MS = 20_000;

export class DemoSimulator implements vscode.Disposable {
  private child: ChildProcess | undefined;
  private url: string | undefined;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly connections: ConnectionStore,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  register(): vscode.Disposable[] {
    return [
      vscode.commands.registerCommand('zendesk.startSimulator', () => this.start()),
      vscode.commands.registerCommand('zendesk.stopSimulator', () => this.stop()),
    ];
  }

  /** Configures the demo connection for a simulator someone else started (npm start). */
  async adoptFromEnvironment(): Promise<void> {
    const url = process.env[DEMO_URL_ENV];
    if (!url || this.child) return;
    this.log.info(`Using the demo simulator at ${url} (from ${DEMO_URL_ENV}).`);
    await this.configure(url);
  }

  /** Starts (or reuses) the simulator; resolves with its URL. */
  async start(): Promise<string | undefined> {
    if (this.child && this.url) {
      await this.configure(this.url);
      void vscode.window.showInformationMessage(`The demo simulator is already running at ${this.url}.`);
      return this.url;
    }
    try {
      const url = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: 'Zendesk: starting the demo simulator…' },
        () => this.spawn(),
      );
      await this.configure(url);
      void vscode.window.showInformationMessage(`Demo simulator running at ${url}; connection "${DEMO_CONNECTION}" is ready.`, 'New Export…').then((p) => {
        if (p) void vscode.commands.executeCommand('zendesk.newExport');
      });
      return url;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.log.error(`Demo simulator: ${message}`);
      void vscode.window.showErrorMessage('The demo simulator did not start.', 'Show Log').then((p) => p && this.log.show(true));
      return undefined;
    }
  }

  private spawn(): Promise<string> {
    const cli = this.context.asAbsolutePath('dist/cli.js');
    // Node from the host's own executable; rate-limit windows 30x faster so waits are visible but short;
    // a live account (a few changes a minute), so a resume a minute later brings something new.
    const child = spawn(process.execPath, [cli, 'simulate', '--port', '0', '--time-scale', '30', '--live', '4'], {
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    return new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => fail(new Error(`no URL within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
      const fail = (e: Error): void => {
        clearTimeout(timer);
        child.kill();
        this.child = undefined;
        reject(e);
      };
      child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk;
        for (const line of chunk.split('\n')) if (line.trim()) this.log.info(`[simulator] ${line}`);
        const m = /listening on (https?:\/\/[^\s]+)/.exec(out);
        if (m && !this.url) {
          clearTimeout(timer);
          this.url = m[1];
          void vscode.commands.executeCommand('setContext', 'zendesk.simulatorRunning', true);
          resolve(m[1]);
        }
      });
      child.stderr?.setEncoding('utf8').on('data', (chunk: string) => this.log.warn(`[simulator] ${chunk.trimEnd()}`));
      child.on('error', (e) => fail(e));
      child.on('exit', (code, signal) => {
        this.log.info(`Demo simulator exited (${signal ?? code}).`);
        const wasListening = this.child === child && this.url !== undefined;
        if (this.child === child) {
          this.child = undefined;
          this.url = undefined;
          void vscode.commands.executeCommand('setContext', 'zendesk.simulatorRunning', false);
        }
        if (!wasListening) fail(new Error(`exited with ${signal ?? code} before listening: ${out.slice(-500)}`));
      });
    });
  }

  /**
   * The token first (bound to this simulator's origin), then the connection: the connection shows
   * in the views only once it can run, so a Run clicked at once never finds it without a token.
   */
  private async configure(url: string): Promise<void> {
    const connection: ConnectionSetting = { name: DEMO_CONNECTION, url, authKind: 'apiToken', email: DEMO_EMAIL };
    await this.connections.setToken(DEMO_CONNECTION, DEMO_TOKEN, originOf(baseUrlOf(connection)));
    await this.connections.upsert(connection);
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => {
        child.kill('SIGKILL');
        resolve();
      }, 3000).unref();
    });
  }

  dispose(): void {
    this.child?.kill('SIGTERM');
  }
}
