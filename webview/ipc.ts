// The webview's end of the typed IPC (src/protocol/webviewMessages.ts): commands go out,
// requests get one response each, notifications come in, each matched by its descriptor's guard.
import { isIpcMessage, type IpcCommand, type IpcMessage, type IpcNotification, type IpcRequest } from '../src/protocol/webviewMessages';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

class HostIpc {
  private readonly api: VsCodeApi = acquireVsCodeApi();
  private seq = 0;
  /** Requests waiting for their response, by id. */
  private readonly waiting = new Map<string, (response: IpcMessage) => void>();
  private readonly handlers = new Map<string, (msg: IpcMessage) => void>();

  constructor() {
    window.addEventListener('message', (e: MessageEvent<unknown>) => this.receive(e.data));
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
    return new Promise<R>((resolve, reject) => {
      this.waiting.set(id, (msg) => {
        if (!type.isResponse(msg)) reject(new Error(`The extension answered ${type.method} with ${msg.method}.`));
        else if (msg.params.ok) resolve(msg.params.value);
        else reject(new Error(msg.params.error));
      });
    });
  }

  on<P>(type: IpcNotification<P>, handler: (params: P) => void): void {
    this.handlers.set(type.method, (msg) => {
      if (type.is(msg)) handler(msg.params);
    });
  }

  private post(method: string, params: unknown): string {
    const id = `w${++this.seq}`;
    const msg: IpcMessage = { id, scope: 'grid', method, params };
    this.api.postMessage(msg);
    return id;
  }

  private receive(msg: unknown): void {
    if (!isIpcMessage(msg)) return;
    if (msg.completionId) {
      const answer = this.waiting.get(msg.completionId);
      this.waiting.delete(msg.completionId);
      answer?.(msg);
      return;
    }
    this.handlers.get(msg.method)?.(msg);
  }
}

/** The one connection to the host (acquireVsCodeApi may be called once per page). */
export const ipc = new HostIpc();
