// The shape of the code, checked: no import cycles among the product's files (the engine's rooms,
// the server, the CLI, the extension, the webview), counting type-only imports too, since a cycle of
// types is still two files that cannot be understood one without the other. Lazy `import()` calls
// are not edges: they are how the CLI keeps its start lean. The rooms' doors are checked by lint.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const ROOT = resolve(__dirname, '../..');
const AREAS = ['src', 'webview'];

function sourceFiles(): string[] {
  return AREAS.flatMap((area) =>
    readdirSync(join(ROOT, area), { recursive: true })
      .map(String)
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.includes('generated'))
      .map((f) => join(ROOT, area, f)),
  );
}

/** The project files a file imports statically (import and export … from). */
function importsOf(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, false);
  const out: string[] = [];
  for (const statement of source.statements) {
    const spec = (ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) ? statement.moduleSpecifier : undefined;
    if (!spec || !ts.isStringLiteral(spec) || !spec.text.startsWith('.')) continue;
    const base = resolve(dirname(file), spec.text.replace(/\.js$/, ''));
    const target = [`${base}.ts`, join(base, 'index.ts')].find((f) => existsSync(f));
    if (target) out.push(target);
  }
  return out;
}

/** Strongly connected components with more than one file (Tarjan), or a file importing itself. */
function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.map((f) => relative(ROOT, f)).sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

describe('architecture', () => {
  it('has no import cycles in src/ and webview/', () => {
    const files = sourceFiles();
    assert.ok(files.length > 100, `found only ${files.length} source files: is the walk wrong?`);
    const graph = new Map(files.map((f) => [f, importsOf(f)]));
    const edges = [...graph.values()].reduce((n, e) => n + e.length, 0);
    assert.ok(edges > files.length, `only ${edges} imports among ${files.length} files: is the parse wrong?`);
    assert.deepEqual(cycles(graph), [], 'files that import each other (directly or through others)');
  });

  it('finds a cycle when there is one (the check itself)', () => {
    const graph = new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]]);
    assert.deepEqual(cycles(graph), [['a', 'b', 'c'].map((f) => relative(ROOT, f)).sort()]);
  });
});
