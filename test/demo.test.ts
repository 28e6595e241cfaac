import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';

const VIGIL = new URL('../bin/vigil.js', import.meta.url).pathname;
const canRun = process.getuid?.() === 0 && spawnSync('unshare', ['--pid', '--fork', '--mount', '--mount-proc', '--uts', 'true']).status === 0;

// The acceptance test of the whole story (issue 12): `vigil demo --ci` exits 0 and ends with its figures.
test('vigil demo --ci plays the whole story: detection → containment → remediation → restore', { skip: canRun ? false : 'needs root and unshare (each demo endpoint is a machine of its own)' }, async () => {
  const child = spawn(process.execPath, [VIGIL, 'demo', '--ci'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c) => { out += c; });
  child.stderr.on('data', (c) => { err += c; });
  const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(timer);
  const last = out.trim().split('\n').at(-1) ?? '';
  assert.equal(code, 0, `demo failed:\n${out}\n${err.split('\n').filter((l) => !l.includes('Unsupported runtime')).join('\n')}`);
  const m = /^demo: story complete in (\d+) ms \(contain (\d+) ms, remediate (\d+) ms, restore (\d+) ms\)$/.exec(last);
  assert.ok(m, `unexpected last line: ${last}`);
  for (const hop of ['alert(s):', 'is noncompliant', '→ 401 at the corporate app', 'new sign-in from ws-alice refused: access_denied', 'still answers 200',
    'approves them', 'cron persistence removed', 'srv-files: the copy on its share is quarantined', 'ws-bob: a new copy is quarantined on sight',
    "ws-alice's alerts are resolved", 'compliant again', 'alice signs in to the corporate app from ws-alice as before']) {
    assert.ok(out.includes(hop), `the timeline lacks "${hop}"`);
  }
});
