// One status-bar item for the running export(s): records, pages and the rate-limit state.
import * as vscode from 'vscode';
import type { SessionInfo } from '../protocol/customMessages';
import { clock, countsText, plural, recordsAndPages, waitingText } from './format';
import type { SessionStore } from './sessionStore';

/** How long the last result stays visible after the final export ends. */
const LINGER_MS = 15_000;

export class ExportStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('zendesk.export', vscode.StatusBarAlignment.Left, 50);
  private readonly disposables: vscode.Disposable[] = [this.item];
  private hideTimer: ReturnType<typeof setTimeout> | undefined;
  /** Re-renders "waiting until" as the wait elapses, only while someone waits. */
  private tick: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly sessions: SessionStore) {
    this.item.name = 'Zendesk Export';
    this.disposables.push(sessions.onDidChange((s) => this.render(s)));
  }

  private render(changed: SessionInfo | undefined): void {
    const running = this.sessions.running();
    void vscode.commands.executeCommand('setContext', 'zendesk.exportRunning', running.length > 0);
    if (running.length === 0) {
      this.stopTick();
      if (changed && changed.status !== 'running') this.showFinished(changed);
      return;
    }
    clearTimeout(this.hideTimer);
    const s = running[0];
    const waiting = waitingText(s.counts);
    const more = running.length > 1 ? ` (+${running.length - 1})` : '';
    this.item.text = `${waiting ? '$(watch)' : '$(sync~spin)'} ${s.queryName}: ${recordsAndPages(s.counts)}${waiting ? `, ${waiting}` : ''}${more}`;
    this.item.tooltip = this.tooltip(running);
    this.item.command = { title: 'Cancel Export', command: 'zendesk.cancelExport', arguments: running.length === 1 ? [s.sessionId] : [] };
    this.item.backgroundColor = undefined;
    this.item.show();
    if (waiting) this.startTick();
    else this.stopTick();
  }

  private tooltip(running: SessionInfo[]): vscode.MarkdownString {
    const md = new vscode.MarkdownString('', true);
    for (const s of running) {
      const rl = s.counts.rateLimit;
      md.appendMarkdown(`**${s.queryName}** (${s.endpointId})  \n${countsText(s.counts)}  \n`);
      if (rl && rl.total !== null) md.appendMarkdown(`Rate limit: ${rl.remaining ?? '?'} of ${rl.total} left${rl.resetsAt ? `, resets ${clock(rl.resetsAt * 1000)}` : ''}  \n`);
      const waiting = waitingText(s.counts);
      if (waiting) md.appendMarkdown(`${waiting[0].toUpperCase()}${waiting.slice(1)}  \n`);
    }
    md.appendMarkdown('\nClick to cancel (the next run resumes from the last complete page).');
    return md;
  }

  private showFinished(s: SessionInfo): void {
    const icon = s.status === 'done' ? '$(check)' : s.status === 'cancelled' ? '$(circle-slash)' : '$(error)';
    this.item.text = `${icon} ${s.queryName}: ${plural(s.counts.records, 'record')}`;
    this.item.tooltip = s.error ? s.error.message : `${s.status}: ${countsText(s.counts)}`;
    this.item.command = { title: 'Show Runs', command: 'zendesk.runs.focus' };
    this.item.backgroundColor = s.status === 'failed' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
    this.item.show();
    clearTimeout(this.hideTimer);
    this.hideTimer = setTimeout(() => this.item.hide(), LINGER_MS);
  }

  private startTick(): void {
    this.tick ??= setInterval(() => this.render(undefined), 1000);
  }

  private stopTick(): void {
    if (this.tick) clearInterval(this.tick);
    this.tick = undefined;
  }

  dispose(): void {
    clearTimeout(this.hideTimer);
    this.stopTick();
    for (const d of this.disposables) d.dispose();
  }
}
