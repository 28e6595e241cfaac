import { test } from 'node:test';
import assert from 'node:assert/strict';
import RE2 from 're2';
import { boundedRegExp } from './bounded-regex.js';

test('bounded patterns run on V8: literals, positive classes and escapes, unrepeated groups, {n}, {n,m}, ?', () => {
  for (const p of ['\\s[a-fA-F0-9]{64}\\s[a-fA-F0-9]{16}', '\\\\[a-zA-Z0-9]{1,32}\\.[a-zA-Z0-9]{1,6}\\.[ "\']{1}', '^(?:cmd|powershell)\\.exe$',
    '(^[a-zA-Z]{4}$)|(^[a-zA-Z]{8}$)', 'APT\\d', '-[ec]{1,2}?\\s', '\\bnet\\b']) {
    assert.ok(boundedRegExp(p, ''), p);
  }
});

test('anything that can backtrack without bound, or that the engines read differently, stays on RE2', () => {
  for (const p of ['(a+)+$', 'a*b', 'a+', 'x{2,}', '(ab){2}', '(a|b)?', '.{3}', '[^a]', '\\S', '\\D', '\\W', '\\1', '(?=a)', '(?i)abc', '(?P<n>a)',
    '[[:alpha:]]', '\\pL', '\\Aabc\\z', 'é', 'a{', '[a-z]{1,100}[a-z]{1,100}', '\\x41']) {
    assert.equal(boundedRegExp(p, ''), undefined, p);
  }
  assert.equal(boundedRegExp('abc', 'i'), undefined, 'case folding differs for non-ASCII');
  assert.equal(boundedRegExp('^abc$', 'm'), undefined, 'line ends differ');
  assert.ok(boundedRegExp('abc', 's'), 'without ".", dotall changes nothing');
});

test('on every text, a bounded pattern matches exactly where RE2 does', () => {
  const patterns: Record<string, string> = {
    '\\s[a-fA-F0-9]{4}\\s[a-fA-F0-9]{2}': 'x BEEF 0a', '\\\\[a-zA-Z0-9]{1,8}\\.[a-zA-Z0-9]{1,3}\\.[ "\']': 'C:\\x\\ab.cd. ',
    '^a?b{1,2}(c|d\\s)$': 'abbd\t', '\\bx\\d{2}\\b': 'a x12 b', '[\\w-]{2}\\s?[:/]': 'a-_ :',
  };
  const pieces = ['a', 'b', 'c', 'd', 'x', 'Z', '0', '7', ' ', '\t', '\n', '\r', '\u00a0', '\u2028', '\u3000', '\\', '.', '-', '_', '"', "'", ':', '/', 'é', 'ſ', '😀', 'f0', 'AB'];
  let seed = 12345;
  const random = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x80000000; };
  for (const [p, example] of Object.entries(patterns)) {
    const re2 = new RE2(p, '');
    const v8 = boundedRegExp(p, '')!;
    assert.ok(v8.test(example) && re2.test(example), `${p} matches ${JSON.stringify(example)}`);
    for (let n = 0; n < 3000; n++) {
      // Random texts, half of them around the example, so both answers come up.
      let s = random() < 0.5 ? example.slice(Math.floor(random() * 3)) : '';
      for (let len = Math.floor(random() * 8); len > 0; len--) {
        const piece = pieces[Math.floor(random() * pieces.length)]!;
        s = random() < 0.5 ? piece + s : s + piece;
      }
      assert.equal(v8.test(s), re2.test(s), `${p} on ${JSON.stringify(s)}`);
    }
  }
});

test('the most a bounded pattern can try stays small on a 100 KB value', () => {
  const worst = boundedRegExp('[a-z]{1,16}[a-z]{1,16}!', '')!;
  const started = process.hrtime.bigint();
  assert.equal(worst.test('a'.repeat(100_000)), false);
  assert.ok(process.hrtime.bigint() - started < 1_000_000_000n, 'well under a second');
});
