import { test } from 'node:test';
import assert from 'node:assert/strict';
import { anchorCharacters, buildAutomaton, keywordGate } from './prefilter.js';

const found = (literals: string[], text: string) => {
  const automaton = buildAutomaton(literals.map((literal, owner) => ({ literal, owner })));
  const owners = new Set<number>();
  automaton.scan(text, (o) => owners.add(o));
  return [...owners].sort();
};

test('the automaton finds every literal in a text, ignoring case', () => {
  assert.deepEqual(found(['rpc::', 'dumpcreds', 'c:\\windows\\'], 'x RPC::y C:\\Windows\\System32 DumpCreds'), [0, 1, 2]);
  assert.deepEqual(found(['rpc::', 'dumpcreds'], 'rpc:dumpcred'), []);
  assert.deepEqual(found(['évian'], 'ÉVIAN'), [0]);
});

test('a one-character literal matches only that character, not any uncommon one', () => {
  // Homoglyph rules: one Cyrillic letter each; '(' and '$' are common in command lines.
  const literals = ['\u0430', '\u0435', '(', 'x$y'];
  assert.deepEqual(found(literals, '"C:\\Program Files (x86)\\a.exe"'), [2]);
  assert.deepEqual(found(literals, 'Install $(Arg0)'), [2]);
  assert.deepEqual(found(literals, 'p\u0430yload'), [0]);
  assert.deepEqual(found(literals, 'P\u0410YLOAD \u0415'), [0, 1], 'upper-case Cyrillic is lower-cased first');
  assert.deepEqual(found(literals, 'x$y'), [3]);
  // Emoji: two UTF-16 units, both non-ASCII; '$(' must not look like one.
  assert.deepEqual(found(['\u{1F600}', 'install'], 'Install $(Arg0)'), [1]);
  assert.deepEqual(found(['\u{1F600}', 'install'], 'echo \u{1F600}'), [0]);
});

test('anchor characters: every literal holds one, rare ones first; none for a plain word', () => {
  const literals = ['sekurlsa::', 'lsadump::', 'mimidrv.sys', 'kiwi legit printer'];
  const anchors = anchorCharacters(literals)!;
  assert.deepEqual(anchors, [':', '.', ' ']);
  for (const l of literals) assert.ok(anchors.some((a) => l.includes(a)), l);
  assert.equal(anchorCharacters(['rpc::', 'mimikatz']), null);
});

test('a keyword gate: one search of an event\'s JSON text that finds every event a keyword may be in', () => {
  const gate = keywordGate(['sekurlsa::', 'lsadump::', 'mimidrv.sys', '\\mimilib.dll', 'eo.oe.kiwi', 'gentilkiwi.com'])!;
  // Few alternatives: '::' covers the module names, 'kiwi' and 'mimi' the rest.
  assert.equal(gate.source, '::|[kK][iI][wW][iI]|[mM][iI][mM][iI]|[\\u0130\\u212a]');
  assert.ok(gate.test(JSON.stringify({ a: 'x LSADUMP::sam' })));
  assert.ok(gate.test(JSON.stringify({ a: 'C:\\MimiLib.dll' })));
  assert.ok(gate.test(JSON.stringify({ a: 'GENTIL\u212AIWI.COM' })), 'the Kelvin sign lower-cases to k');
  assert.ok(!gate.test(JSON.stringify({ Image: 'C:\\Windows\\System32\\svchost.exe', Time: '2026-11-02 08:00:00.000' })));
  // No window JSON writes as it is: no gate.
  assert.equal(keywordGate(['\\"']), null);
  assert.equal(keywordGate(['a/b/c/d']), null, 'JSON may write / as \\/');
});
