// The webview's end of the typed IPC (src/protocol/webviewMessages.ts): commands go out,
// requests get one response each, notifications come in.
import type { IpcCommand, IpcMessage, IpcNotification, IpcRequest, IpcResponse } from '../src/protocol/webviewMessages';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

export class HostIpc {
  private readonly api: VsCodeApi = acquireVsCodeApi();
  private seq = 0;
  private readonly waiting = new Map<string, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly handlers = new Map<string, (params: unknown) => void>();

  constructor() {
    window.addEventListener('message', (e: MessageEvent) => this.receive(e.data as IpcMessage));
  }

  get state(): unknown {
    return this.api.getState();
  }

  set state(value: unknown) {
    this.api.setState(value);
  }

  command<P>(type: IpcCommand<P>, params: P): void {
    this.post(type.method, params);
  }

  request<P, R>(type: IpcRequest<P, R>, params: P): Promise<R> {
    const id = this.post(type.method, params);
    return new Promise<R>((resolve, reject) => this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject }));
  }

  on<P>(type: IpcNotification<P>, handler: (params: P) => void): void {
    this.handlers.set(type.method, handler as (params: unknown) => void);
  }

  private post(method: string, params: unknown): string {
    const id = `w${++this.seq}`;
    const msg: IpcMessage = { id, scope: 'grid', method, params };
    this.api.postMessage(msg);
    return id;
  }

  private receive(msg: IpcMessage): void {
    if (!msg || msg.scope !== 'grid') return;
    if (msg.completionId) {
      const w = this.waiting.get(msg.completionId);
      if (!w) return;
      this.waiting.delete(msg.completionId);
      const r = msg.params as IpcResponse<unknown>;
      if (r.ok) w.resolve(r.value);
      else w.reject(new Error(r.error));
      return;
    }
    this.handlers.get(msg.method)?.(msg.params);
  }
}
