// Commands that exist only outside production (extension development and test runs): they let
// the integration tests measure the extension host without reaching into private state.
import * as vscode from 'vscode';
import type { EngineClient } from './engineClient';

export function registerTestCommands(engine: EngineClient, secrets: vscode.SecretStorage): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand('zendesk.test.memoryUsage', (opts?: { gc?: boolean }) => {
      // global.gc exists only with --expose-gc; a measurement without it is still useful.
      const gc = (globalThis as { gc?: () => void }).gc;
      if (opts?.gc && gc) gc();
      return { ...process.memoryUsage(), pid: process.pid, gcAvailable: Boolean(gc) };
    }),
    vscode.commands.registerCommand('zendesk.test.engineState', () => ({ running: engine.isRunning })),
    // A token as versions before host binding stored it (no origin), to test the upgrade path.
    vscode.commands.registerCommand('zendesk.test.storeUnboundToken', (name: string, token: string) => secrets.store(`zendesk.connection.token:${name}`, token)),
  ];
}
