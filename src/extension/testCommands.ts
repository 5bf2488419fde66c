// Commands that exist only outside production (extension development and test runs): they let
// the integration tests measure the extension host without reaching into private state.
import * as vscode from 'vscode';
import type { EngineClient } from './engineClient';

export function registerTestCommands(engine: EngineClient): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand('zendesk.test.memoryUsage', (opts?: { gc?: boolean }) => {
      // global.gc exists only with --expose-gc; a measurement without it is still useful.
      const gc = (globalThis as { gc?: () => void }).gc;
      if (opts?.gc && gc) gc();
      return { ...process.memoryUsage(), pid: process.pid, gcAvailable: Boolean(gc) };
    }),
    vscode.commands.registerCommand('zendesk.test.engineState', () => ({ running: engine.isRunning })),
  ];
}
