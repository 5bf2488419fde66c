// A multi-step quick input with a Back button, after the quickinput sample in
// microsoft/vscode-extension-samples: each step is a function that returns the next one.
import * as vscode from 'vscode';

// An Error, so that a rejected step is an Error like any other rejection.
class InputFlowAction extends Error {
  static readonly back = new InputFlowAction('back');
  static readonly cancel = new InputFlowAction('cancel');
}

export type InputStep = (input: MultiStepInput) => Promise<InputStep | void>;

interface Common {
  title: string;
  step: number;
  totalSteps: number;
}

export interface PickParams<T extends vscode.QuickPickItem> extends Common {
  items: T[];
  placeholder: string;
  activeItem?: T;
  canSelectMany?: false;
}

export interface PickManyParams<T extends vscode.QuickPickItem> extends Common {
  items: T[];
  placeholder: string;
  selected: T[];
}

export interface InputBoxParams extends Common {
  value: string;
  prompt: string;
  placeholder?: string;
  validate: (value: string) => string | undefined;
}

export class MultiStepInput {
  private current?: vscode.QuickInput;
  private readonly steps: InputStep[] = [];

  /** Runs the flow; resolves true when it reached the end, false when cancelled. */
  static async run(start: InputStep): Promise<boolean> {
    return new MultiStepInput().stepThrough(start);
  }

  private async stepThrough(start: InputStep): Promise<boolean> {
    let step: InputStep | void = start;
    try {
      while (step) {
        this.steps.push(step);
        if (this.current) {
          this.current.enabled = false;
          this.current.busy = true;
        }
        try {
          step = await step(this);
        } catch (err) {
          if (err === InputFlowAction.back) {
            this.steps.pop();
            step = this.steps.pop();
          } else if (err === InputFlowAction.cancel) {
            return false;
          } else {
            throw err;
          }
        }
      }
      return true;
    } finally {
      this.current?.dispose();
    }
  }

  private buttons(step: number): vscode.QuickInputButton[] {
    return this.steps.length > 1 && step > 1 ? [vscode.QuickInputButtons.Back] : [];
  }

  async showQuickPick<T extends vscode.QuickPickItem>(p: PickParams<T>): Promise<T> {
    const picks = await this.pick(p, false, p.activeItem ? [p.activeItem] : []);
    return picks[0];
  }

  async showQuickPickMany<T extends vscode.QuickPickItem>(p: PickManyParams<T> & { placeholder: string }): Promise<T[]> {
    return this.pick({ ...p }, true, p.selected);
  }

  private pick<T extends vscode.QuickPickItem>(p: Common & { items: T[]; placeholder: string }, many: boolean, initial: T[]): Promise<T[]> {
    const disposables: vscode.Disposable[] = [];
    return new Promise<T[]>((resolve, reject) => {
      const input = vscode.window.createQuickPick<T>();
      input.title = p.title;
      input.step = p.step;
      input.totalSteps = p.totalSteps;
      input.placeholder = p.placeholder;
      input.canSelectMany = many;
      input.ignoreFocusOut = true;
      input.matchOnDescription = true;
      input.items = p.items;
      if (many) input.selectedItems = initial;
      else if (initial.length) input.activeItems = initial;
      input.buttons = this.buttons(p.step);
      disposables.push(
        input.onDidTriggerButton((b) => reject(b === vscode.QuickInputButtons.Back ? InputFlowAction.back : InputFlowAction.cancel)),
        input.onDidAccept(() => {
          const chosen = many ? [...input.selectedItems] : [...input.selectedItems.length ? input.selectedItems : input.activeItems];
          if (!many && chosen.length === 0) return;
          resolve(chosen);
        }),
        input.onDidHide(() => reject(InputFlowAction.cancel)),
      );
      this.current?.dispose();
      this.current = input;
      input.show();
    }).finally(() => {
      for (const d of disposables) d.dispose();
    });
  }

  async showInputBox(p: InputBoxParams): Promise<string> {
    const disposables: vscode.Disposable[] = [];
    return new Promise<string>((resolve, reject) => {
      const input = vscode.window.createInputBox();
      input.title = p.title;
      input.step = p.step;
      input.totalSteps = p.totalSteps;
      input.value = p.value;
      input.prompt = p.prompt;
      input.placeholder = p.placeholder;
      input.ignoreFocusOut = true;
      input.buttons = this.buttons(p.step);
      input.validationMessage = p.validate(p.value);
      disposables.push(
        input.onDidTriggerButton((b) => reject(b === vscode.QuickInputButtons.Back ? InputFlowAction.back : InputFlowAction.cancel)),
        input.onDidAccept(() => {
          const problem = p.validate(input.value);
          input.validationMessage = problem;
          if (!problem) resolve(input.value);
        }),
        input.onDidChangeValue((v) => {
          input.validationMessage = p.validate(v);
        }),
        input.onDidHide(() => reject(InputFlowAction.cancel)),
      );
      this.current?.dispose();
      this.current = input;
      input.show();
    }).finally(() => {
      for (const d of disposables) d.dispose();
    });
  }
}
