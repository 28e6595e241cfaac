import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileLiteralSet } from './literal-set.js';
import { parseSigmaString, plainShape, withWildcards } from './sigma-value.js';

test('plainShape names exact, prefix, suffix and contains patterns, and nothing else', () => {
  assert.deepEqual(plainShape(parseSigmaString('a.exe')), { kind: 'exact', literal: 'a.exe' });
  assert.deepEqual(plainShape(parseSigmaString('C:\\temp*')), { kind: 'prefix', literal: 'C:\\temp' });
  assert.deepEqual(plainShape(parseSigmaString('*\\cmd.exe')), { kind: 'suffix', literal: '\\cmd.exe' });
  assert.deepEqual(plainShape(withWildcards(parseSigmaString('-enc'), true, true)), { kind: 'contains', literal: '-enc' });
  assert.equal(plainShape(parseSigmaString('a?b')), null);
  assert.equal(plainShape(parseSigmaString('*a*b*')), null);
});

test('a grouped set matches exactly what the patterns match one by one', () => {
  const contains = ['mimikatz', 'sekurlsa::', 'kerberos::', 'lsadump::', 'crypto::', 'privilege::debug', '\u{1F600}', 'über'];
  const match = compileLiteralSet([
    ...contains.map((literal) => ({ kind: 'contains' as const, literal })),
    { kind: 'exact', literal: 'whoami.exe' },
    { kind: 'prefix', literal: 'c:\\temp\\' },
    { kind: 'prefix', literal: 'c:\\t\\' },
    { kind: 'suffix', literal: '\\rundll32.exe' },
  ]);
  const yes = ['x sekurlsa::logonpasswords', 'privilege::debug', 'run \u{1F600} now', 'Über'.toLowerCase(), 'whoami.exe',
    'c:\\temp\\a.exe', 'c:\\t\\b', 'c:\\windows\\rundll32.exe'];
  const no = ['', 'mimikat', 'whoami.exe ', 'xc:\\temp\\a', 'rundll32.exe', 'sekurlsa:', '\u{1F601}', 'uber', 'privilege:: debug'];
  for (const t of yes) assert.equal(match(t), true, t);
  for (const t of no) assert.equal(match(t), false, t);
});

test('very long substrings are found by a window of each and confirmed whole', () => {
  const long = 'x'.repeat(70_000);
  const match = compileLiteralSet([`${long}a`, `${long}b`, 'c1', 'c2', 'c3', 'c4'].map((literal) => ({ kind: 'contains' as const, literal })));
  assert.equal(match(`--${long}b--`), true);
  assert.equal(match(`--${long.slice(1)}b--`), false);
  assert.equal(match('c3'), true);
});

test('a few substrings are tested without an automaton, with the same answers', () => {
  const match = compileLiteralSet(['abc', 'xyz'].map((literal) => ({ kind: 'contains' as const, literal })));
  assert.equal(match('--abc--'), true);
  assert.equal(match('--ab--xy'), false);
});
