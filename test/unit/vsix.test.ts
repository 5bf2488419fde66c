// Packages the extension the way `npm run package` does (production build + vsce) and checks what
// ships: only the allowed files, everything package.json refers to, bundles that load without
// node_modules (the .vsix is built with --no-dependencies), and a DuckDB output that says in one
// sentence it needs the platform build. Then the platform build (`npm run package:platform`): the
// same files plus exactly DuckDB's driver for this platform, which its CLI loads to write a DuckDB
// file. Works on a copy of the checkout so the production build doesn't overwrite the dist/ that
// other tests are using. Each package's size is printed.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { builtinModules } from 'node:module';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { duckRows } from '../support/tables';
import { cleanEnv } from '../support/cliProcess';
import { startSimulator, type RunningSimulator } from '../../src/simulator/index';

const ROOT = resolve(__dirname, '..', '..');

// vsce adds the two manifest files and puts the extension under extension/ (README and LICENSE
// may be renamed in case or get a .txt extension).
const ALLOWED = [
  /^\[Content_Types\]\.xml$/,
  /^extension\.vsixmanifest$/,
  /^extension\/package\.json$/,
  /^extension\/dist\/[^/]+\.(js|css)$/,
  /^extension\/media\/.+\.(png|svg|gif|jpg|jpeg|webp|css)$/,
  /^extension\/schemas\/[^/]+\.json$/,
  /^extension\/walkthrough\/[^/]+\.md$/,
  /^extension\/(readme|changelog)\.md$/i,
  /^extension\/license(\.md|\.txt)?$/i,
];
const MAX_BYTES = 8 * 1024 * 1024;
/** What a platform build carries besides: DuckDB's driver, its binding for this platform, detect-libc. */
const PLATFORM = `${process.platform}-${process.arch}`;
const DUCKDB_FILES = [
  /^extension\/node_modules\/@duckdb\/node-api\/(package\.json|LICENSE|lib\/.+\.js)$/,
  /^extension\/node_modules\/@duckdb\/node-bindings\/(package\.json|LICENSE|duckdb\.js)$/,
  new RegExp(`^extension/node_modules/@duckdb/node-bindings-${PLATFORM}/(package\\.json|LICENSE|duckdb\\.node|libduckdb\\.\\w+|duckdb\\.dll)$`),
  /^extension\/node_modules\/detect-libc\/(package\.json|LICENSE|lib\/.+\.js)$/,
];
const MAX_PLATFORM_BYTES = 40 * 1024 * 1024;

interface ZipEntry { name: string; data: Buffer }

// Minimal reader for vsce's zip (stored or deflated entries): enough to list and extract it
// without another dependency.
function readZip(buf: Buffer): ZipEntry[] {
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 65_557); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) { eocd = i; break; }
  }
  assert.ok(eocd >= 0, 'not a zip file: no end-of-central-directory record');
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const entries: ZipEntry[] = [];
  for (let n = 0; n < count; n++) {
    assert.equal(buf.readUInt32LE(p), 0x02014b50, 'corrupt central directory');
    const method = buf.readUInt16LE(p + 10);
    const compressedSize = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const localOffset = buf.readUInt32LE(p + 42);
    const name = buf.subarray(p + 46, p + 46 + nameLen).toString('utf8');
    const dataStart = localOffset + 30 + buf.readUInt16LE(localOffset + 26) + buf.readUInt16LE(localOffset + 28);
    const raw = buf.subarray(dataStart, dataStart + compressedSize);
    entries.push({ name, data: method === 8 ? inflateRawSync(raw) : Buffer.from(raw) });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

// Paths package.json's manifest refers to (icons, walkthrough pages, schemas, entry point).
function referencedFiles(pkg: Record<string, unknown>): string[] {
  const found = new Set<string>();
  const visit = (v: unknown) => {
    if (typeof v === 'string') {
      const m = /^(?:\.\/)?((?:dist|media|schemas|walkthrough)\/[^*?]+\.[a-z]+)$/i.exec(v);
      if (m) found.add(m[1]);
    } else if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === 'object') Object.values(v).forEach(visit);
  };
  visit({ main: pkg.main, icon: pkg.icon, contributes: pkg.contributes });
  return [...found].sort();
}

/** Runs an npm packaging script on a copy of the checkout; the package's bytes and entries, unpacked into `<work>/unpacked`. */
function packageWith(script: string): { work: string; entries: ZipEntry[]; bytes: number; pkg: Record<string, unknown>; unpacked: string } {
  const work = mkdtempSync(join(tmpdir(), 'zdx-vsix-'));
  const copy = join(work, 'repo');
  const skip = new Set(['node_modules', '.git', 'out', 'dist', '.test-output', '.cache']);
  cpSync(ROOT, copy, { recursive: true, filter: (src) => !(skip.has(src.slice(ROOT.length + 1).split('/')[0]) || src.endsWith('.vsix')) });
  symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'), 'dir');
  const vsix = join(work, 'extension.vsix');
  // The real script from package.json; npm hands the extra argument to vsce.
  execFileSync('npm', ['run', '--silent', script, '--', '--out', vsix], { cwd: copy, stdio: 'inherit', env: { ...process.env, CI: 'true' } });
  const buf = readFileSync(vsix);
  const entries = readZip(buf);
  // Unpacked beside the copy, not inside it: no node_modules up its path but its own.
  const unpacked = join(work, 'unpacked');
  for (const e of entries) {
    const target = join(unpacked, e.name);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, e.data);
  }
  console.log(`      ${script}: ${(buf.length / 1024 / 1024).toFixed(2)} MiB (${(buf.length / 1024).toFixed(0)} KiB), ${entries.length} files`);
  return { work, entries, bytes: buf.length, pkg: JSON.parse(readFileSync(join(copy, 'package.json'), 'utf8')) as Record<string, unknown>, unpacked };
}

/** `zdx export tickets --into duckdb:…` with the packaged CLI against the simulator. */
function packagedDuckDbExport(unpacked: string, sim: RunningSimulator): Promise<{ code: number; stderr: string; file: string }> {
  const file = join(unpacked, 'out.duckdb');
  const env = cleanEnv({ ZENDESK_EMAIL: sim.credentials.admin.email, ZENDESK_API_TOKEN: sim.credentials.admin.token });
  return new Promise((resolveRun) => {
    execFile(process.execPath, [join(unpacked, 'extension', 'dist', 'cli.js'), 'export', 'tickets', '--url', sim.url, '--into', `duckdb:${file}`], { cwd: unpacked, env, timeout: 120_000 }, (err, _stdout, stderr) => {
      resolveRun({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stderr, file });
    });
  });
}

describe('packaged .vsix (npm run package)', function () {
  this.timeout(300_000);
  let work: string;
  let entries: ZipEntry[];
  let vsixBytes: number;
  let pkg: Record<string, unknown>;
  let unpacked: string;
  let sim: RunningSimulator;

  before(async () => {
    ({ work, entries, bytes: vsixBytes, pkg, unpacked } = packageWith('package'));
    sim = await startSimulator({ seed: 2, counts: { tickets: 300, users: 20, organizations: 5 }, rateLimits: false });
  });

  after(async () => {
    await sim?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('contains only the allowed files', () => {
    const extra = entries.map((e) => e.name).filter((n) => !ALLOWED.some((re) => re.test(n)));
    assert.deepEqual(extra, [], `files that should not ship: ${extra.join(', ')}`);
  });

  it('contains the entry point, the engine server and everything package.json refers to', () => {
    const names = new Set(entries.map((e) => e.name));
    const needed = ['dist/extension.js', 'dist/server.js', ...referencedFiles(pkg)];
    const missing = [...new Set(needed)].filter((f) => !names.has(`extension/${f}`));
    assert.deepEqual(missing, [], `missing from the .vsix: ${missing.join(', ')}`);
  });

  it('ships production bundles: minified, no source maps', () => {
    const ext = entries.find((e) => e.name === 'extension/dist/extension.js');
    assert.ok(ext, 'no dist/extension.js');
    const text = ext.data.toString('utf8');
    assert.doesNotMatch(text, /sourceMappingURL/);
    // Minified code has few lines relative to its size.
    assert.ok(text.split('\n').length < text.length / 200, 'dist/extension.js does not look minified');
  });

  it('has bundles that need nothing from node_modules (built with --no-dependencies)', () => {
    const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
    for (const name of ['extension/dist/extension.js', 'extension/dist/server.js']) {
      const text = entries.find((e) => e.name === name)!.data.toString('utf8');
      const bare = [...text.matchAll(/require\(["']([^"'./][^"']*)["']\)/g)].map((m) => m[1]);
      // pg-native: pg's optional native binding, required only by pg's `native` getter, which this tool never uses.
      const external = [...new Set(bare)].filter((m) => m !== 'vscode' && m !== 'pg-native' && !builtins.has(m));
      assert.deepEqual(external, [], `${name} requires packages that are not in the .vsix: ${external.join(', ')}`);
    }
    // The CLI bundle loads the keychain library lazily; it must at least start from the package alone.
    const cli = join(unpacked, 'extension', 'dist', 'cli.js');
    if (entries.some((e) => e.name === 'extension/dist/cli.js')) {
      const help = execFileSync(process.execPath, [cli, '--help'], { cwd: unpacked, encoding: 'utf8' });
      assert.match(help, /Usage: zdx/);
    }
  });

  it(`stays under ${MAX_BYTES / 1024 / 1024} MiB, without DuckDB: its DuckDB output says in one sentence that the platform build is needed`, async () => {
    assert.ok(vsixBytes < MAX_BYTES, `.vsix is ${vsixBytes} bytes`);
    assert.deepEqual(entries.filter((e) => e.name.includes('node_modules')).map((e) => e.name), []);
    const run = await packagedDuckDbExport(unpacked, sim);
    assert.notEqual(run.code, 0);
    assert.equal(run.stderr.trim(), `zdx: DuckDB and Parquet outputs need DuckDB's native driver, which this build doesn't carry: install the extension's build for this platform (${PLATFORM}), or \`npm install @duckdb/node-api\` beside the CLI.`);
  });
});

describe('platform .vsix (npm run package:platform)', function () {
  this.timeout(300_000);
  let work: string;
  let entries: ZipEntry[];
  let bytes: number;
  let unpacked: string;
  let sim: RunningSimulator;

  before(async () => {
    ({ work, entries, bytes, unpacked } = packageWith('package:platform'));
    sim = await startSimulator({ seed: 2, counts: { tickets: 300, users: 20, organizations: 5 }, rateLimits: false });
  });

  after(async () => {
    await sim?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it(`carries the universal package's files and exactly DuckDB's driver for ${PLATFORM}, in under ${MAX_PLATFORM_BYTES / 1024 / 1024} MiB`, () => {
    const extra = entries.map((e) => e.name).filter((n) => !ALLOWED.some((re) => re.test(n)) && !DUCKDB_FILES.some((re) => re.test(n)));
    assert.deepEqual(extra, [], `files that should not ship: ${extra.join(', ')}`);
    const names = new Set(entries.map((e) => e.name));
    for (const f of ['dist/extension.js', 'dist/server.js', 'node_modules/@duckdb/node-api/package.json', `node_modules/@duckdb/node-bindings-${PLATFORM}/duckdb.node`, 'node_modules/detect-libc/lib/detect-libc.js']) {
      assert.ok(names.has(`extension/${f}`), `missing ${f}`);
    }
    assert.ok(bytes < MAX_PLATFORM_BYTES, `.vsix is ${bytes} bytes`);
  });

  it('its CLI loads DuckDB from the package and writes the tables', async () => {
    const run = await packagedDuckDbExport(unpacked, sim);
    assert.equal(run.code, 0, run.stderr);
    const [{ n }] = await duckRows(run.file, 'SELECT count(*) AS n FROM tickets_changes');
    assert.ok((n as number) > 0);
  });
});
