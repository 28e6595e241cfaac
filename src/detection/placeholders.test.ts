import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePlaceholders } from './placeholders.js';

test('placeholders: names with or without %, a value or a list, YAML or JSON', () => {
  assert.deepEqual(parsePlaceholders('Admins: [alice, bob]\n"%Workstations%": WKS-1\nports: [445, 3389]\n', 'p.yml'),
    { '%Admins%': ['alice', 'bob'], '%Workstations%': ['WKS-1'], '%ports%': ['445', '3389'] });
  assert.deepEqual(parsePlaceholders('{"%legit_ips%": ["10.0.0.1"]}', 'p.json'), { '%legit_ips%': ['10.0.0.1'] });
  assert.deepEqual(parsePlaceholders('', 'empty.yml'), {});
});

test('placeholders: a bad document names the file and line', () => {
  assert.throws(() => parsePlaceholders('Admins: [alice\n', 'p.yml'), /^VigilError: p\.yml:\d+: /);
  assert.throws(() => parsePlaceholders('- alice\n', 'p.yml'), /p\.yml:1: placeholders must be a map/);
  assert.throws(() => parsePlaceholders('ok: a\nAdmins:\n  nested: x\n', 'p.yml'), /p\.yml:2: %Admins% must be a value or a list of values/);
  assert.throws(() => parsePlaceholders('"a b": x\n', 'p.yml'), /p\.yml:1: "a b" is not a placeholder name/);
});
