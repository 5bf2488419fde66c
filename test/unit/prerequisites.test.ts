// scripts/prerequisites.mjs, which npm start, npm test and .ci/run call first: on a machine made up
// for the test (a PATH with a fake dpkg-query that knows only some packages, no apt-get), it names
// the missing packages and the one command that installs them, and lets a complete machine through.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

type Prerequisites = typeof import('../../scripts/prerequisites.mjs');

/** A PATH of fake commands: dpkg-query that reports `installed` as installed, plus `commands`. */
function fakeMachine(dir: string, installed: string[], commands: string[] = []): NodeJS.ProcessEnv {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  // dpkg-query -W -f='${Status}' PACKAGE, as dpkg answers it: unknown packages exit 1.
  writeFileSync(join(bin, 'dpkg-query'), `#!/bin/sh
for p in "$@"; do pkg="$p"; done
case " ${installed.join(' ')} " in
  *" $pkg "*) printf 'install ok installed' ;;
  *) echo "dpkg-query: no packages found matching $pkg" >&2; exit 1 ;;
esac
`);
  chmodSync(join(bin, 'dpkg-query'), 0o755);
  for (const c of commands) {
    writeFileSync(join(bin, c), '#!/bin/sh\n');
    chmodSync(join(bin, c), 0o755);
  }
  // An empty code-server cache, so the check knows code-server would have to be built.
  return { PATH: bin, ZDX_VSCODE_CACHE: join(dir, 'cache') };
}

describe('prerequisites (scripts/prerequisites.mjs)', () => {
  let p: Prerequisites;
  let dir: string;

  before(async () => {
    p = await import('../../scripts/prerequisites.mjs');
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'zdx-prereq-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('stops npm test at once with the one command that installs what is missing', async () => {
    const env = fakeMachine(dir, ['dbus', 'libkrb5-dev'], ['make', 'g++']);
    const err = await p.ensurePrerequisites({ ...p.forTestSteps(p.TEST_STEPS), env, asRoot: false }).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof p.PrerequisiteError, `expected a PrerequisiteError, got ${String(err)}`);
    const lines = err.message.split('\n').map((l) => l.trim());
    assert.ok(lines.includes('sudo apt-get update && sudo apt-get install -y postgresql python3 chromium gnome-keyring'), err.message);
    assert.match(err.message, /gnome-keyring \(the Secret Service/);
  });

  it('as root without apt-get it cannot install either, and says the same command', async () => {
    const env = fakeMachine(dir, ['chromium', 'dbus', 'gnome-keyring'], ['python3']);
    const err = await p.ensurePrerequisites({ codeServer: true, env, asRoot: true }).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof p.PrerequisiteError);
    assert.ok(err.message.includes('\n  sudo apt-get update && sudo apt-get install -y libkrb5-dev build-essential\n'), err.message);
  });

  it('asks only for what the steps need: no browser or keyring for the unit tests, no compilers once code-server is cached', () => {
    assert.deepEqual(p.neededPackages(p.forTestSteps(['typecheck', 'lint'])), []);
    assert.deepEqual(p.neededPackages(p.forTestSteps(['unit'])), ['postgresql']);
    assert.deepEqual(p.neededPackages({ ...p.forTestSteps(['keychain']), env: {} }), ['dbus', 'gnome-keyring']);
    assert.deepEqual(p.neededPackages({ codeServer: true, cached: true, env: {} }), []);
    assert.deepEqual(p.neededPackages({ codeServer: true, cached: false, env: {} }), ['libkrb5-dev', 'build-essential', 'python3']);
    // A Chromium of one's own (ZDX_CHROMIUM) needs no package.
    assert.deepEqual(p.neededPackages({ chromium: true, env: { ZDX_CHROMIUM: '/opt/chrome' } }), []);
  });

  it('lets a machine that has everything through without installing anything', async () => {
    const env = fakeMachine(dir, ['chromium', 'dbus', 'gnome-keyring', 'libkrb5-dev'], ['make', 'g++', 'python3']);
    assert.deepEqual(p.missingPackages(['chromium', 'dbus', 'gnome-keyring', 'libkrb5-dev', 'build-essential', 'python3'], env), []);
    await p.ensurePrerequisites({ keyring: true, env, asRoot: false });
  });

  it("reads apt's status lines as progress", () => {
    assert.equal(p.aptStatusText('dlstatus:12:40.5000:Retrieving file 12 of 57'), 'downloading 40% (Retrieving file 12 of 57)');
    assert.equal(p.aptStatusText('pmstatus:libkrb5-dev:87.1:Setting up libkrb5-dev (1.20.1-2)'), 'installing 87% (Setting up libkrb5-dev (1.20.1-2))');
    assert.equal(p.aptStatusText('Reading package lists...'), undefined);
  });
});
