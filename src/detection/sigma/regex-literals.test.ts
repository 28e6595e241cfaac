import { test } from 'node:test';
import assert from 'node:assert/strict';
import { regexLiterals } from './regex-literals.js';

test('a regex gives the prefilter literals that any match must contain', () => {
  assert.deepEqual(regexLiterals('abc'), ['abc']);
  assert.deepEqual(regexLiterals('a{1}b'), ['ab']);
  assert.deepEqual(regexLiterals('foo|barbaz'), ['foo', 'barbaz']);
  assert.deepEqual(regexLiterals('Foo.*Bar(baz)?'), ['foo']);
  assert.equal(regexLiterals('.*'), null);
  assert.equal(regexLiterals('a(b'), null, 'unclear syntax gives no literals');
});

test('a small character class continues a literal run as alternatives', () => {
  // Raspberry Robin: a file name with a dot, then a space or quote. '. ', '."' or ".'" must occur.
  assert.deepEqual(regexLiterals('\\\\[a-zA-Z0-9]{1,32}\\.[a-zA-Z0-9]{1,6}\\.[ "\']{1}'), ['. ', '."', ".'"]);
  assert.deepEqual(regexLiterals('ab[cD]ef'), ['abcef', 'abdef']);
  // One or more of the class: the run ends after one of them.
  assert.deepEqual(regexLiterals('xy[cd]+ef'), ['xyc', 'xyd']);
  // Ranges, negations and escapes in a class, or too many alternatives, end the run.
  assert.deepEqual(regexLiterals('foo[a-z]bar'), ['foo']);
  assert.deepEqual(regexLiterals('foo[^a]bar'), ['foo']);
  assert.deepEqual(regexLiterals('ab[cd]?ef'), ['ab']);
  assert.deepEqual(regexLiterals('[ab][cd][ef][gh]xyz'), ['xyz']);
});
