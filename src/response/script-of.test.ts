import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scriptOf } from './investigation.js';

test('the script an interpreter runs is the threat, not the interpreter', () => {
  assert.equal(scriptOf('/bin/bash /home/alice/Downloads/invoice-viewer'), '/home/alice/Downloads/invoice-viewer');
  assert.equal(scriptOf('bash -x "/a b/run.sh" arg'), '/a b/run.sh');
  assert.equal(scriptOf('/usr/bin/python3 /tmp/x.py --flag'), '/tmp/x.py');
});

test('inline code, modules, relative paths and other programs name no script', () => {
  assert.equal(scriptOf('bash -c "echo hi"'), undefined);
  assert.equal(scriptOf('python3 -m http.server'), undefined);
  assert.equal(scriptOf('bash run.sh'), undefined);
  assert.equal(scriptOf('/usr/bin/ls /tmp'), undefined);
  assert.equal(scriptOf('sh'), undefined);
});
