import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ShapeTrie } from './flat-shapes.js';

function shapeOf(trie: ShapeTrie, names: string[]) {
  trie.begin();
  for (const n of names) trie.add(n);
  return trie.end();
}

test('the same name sequence gets the same shape; another sequence another', () => {
  const trie = new ShapeTrie();
  const a = shapeOf(trie, ['Channel', 'EventID', 'Image']);
  assert.equal(shapeOf(trie, ['Channel', 'EventID', 'Image']), a);
  const b = shapeOf(trie, ['Channel', 'EventID', 'CommandLine']);
  assert.notEqual(b, a);
  assert.equal(shapeOf(trie, ['Channel', 'EventID']) === a, false, 'a prefix is a shape of its own');
  assert.deepEqual(a.build(['Security', 4688, 'C:\\x.exe']), { Channel: 'Security', EventID: 4688, Image: 'C:\\x.exe' });
});

test('a repeated name keeps its first place and its last value, as assignment does', () => {
  const shape = shapeOf(new ShapeTrie(), ['A', 'B', 'A']);
  const built = shape.build([1, 2, 3]);
  assert.deepEqual(Object.entries(built), [['A', 3], ['B', 2]]);
  assert.deepEqual(Object.entries(shape.subset([1])(built)), [['B', 2]]);
});

test('field names are only ever property names: quotes, code and __proto__ stay inert', () => {
  const names = ['a"b', "c'); process.exit(1); ('", '__proto__', '\\', '\u2028'];
  for (const trie of [new ShapeTrie(), new ShapeTrie(1)]) {
    const shape = shapeOf(trie, names);
    const built = shape.build([1, 2, { polluted: true }, 4, 5]);
    assert.deepEqual(Object.keys(built), names);
    assert.equal(Object.getPrototypeOf(built), Object.prototype);
    assert.equal((built as { polluted?: boolean }).polluted, undefined);
    assert.deepEqual(built['__proto__'], { polluted: true });
    const picked = shape.subset([1, 2])(built);
    assert.deepEqual(Object.keys(picked), [names[1], '__proto__']);
    assert.equal(Object.getPrototypeOf(picked), Object.prototype);
    assert.deepEqual(picked['__proto__'], { polluted: true });
  }
});

test('past its node bound the trie describes new shapes for one event only', () => {
  const trie = new ShapeTrie(3);
  const kept = shapeOf(trie, ['A', 'B']);
  assert.equal(shapeOf(trie, ['A', 'B']), kept);
  const first = shapeOf(trie, ['A', 'C']);
  assert.notEqual(shapeOf(trie, ['A', 'C']), first, 'not remembered');
  assert.deepEqual(first.build([1, 2]), { A: 1, C: 2 });
});

test('a name made on a path is remembered there, and made again when asked about something else', () => {
  const trie = new ShapeTrie();
  const made: string[] = [];
  const join = (prefix: string, key: string) => { made.push(`${prefix}/${key}`); return `${prefix}_${key}`; };
  const walk = (keys: string[]) => {
    trie.begin();
    const names = keys.map((k) => trie.name('P', k, join));
    for (const n of names) trie.add(n);
    return names;
  };
  assert.deepEqual(walk(['a', 'b']), ['P_a', 'P_b']);
  assert.deepEqual(walk(['a', 'b']), ['P_a', 'P_b']);
  assert.deepEqual(made, ['P/a', 'P/b'], 'the second walk makes nothing');
  assert.deepEqual(walk(['a', 'c']), ['P_a', 'P_c']);
  assert.deepEqual(made, ['P/a', 'P/b', 'P/c']);
  assert.equal(trie.name('Q', 'a', join), 'Q_a', 'another prefix is another question');
});
