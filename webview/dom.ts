// DOM and text helpers. The page is built with DOM calls: a value goes in as a Text node or
// textContent, never through innerHTML (ticket subjects are user input).
import '@vscode-elements/elements/dist/vscode-button/index.js';

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

export function button(id: string, label: string, title: string, onClick: () => void, secondary = true): HTMLElement {
  const b = document.createElement('vscode-button');
  b.id = id;
  b.textContent = label;
  b.title = title;
  if (secondary) b.setAttribute('secondary', '');
  b.addEventListener('click', onClick);
  return b;
}

export const fmt = (n: number): string => n.toLocaleString('en-US');
