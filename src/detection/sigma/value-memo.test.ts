import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMemoBudget, createValueMemo } from './value-memo.js';

test('a memo answers what was set, skips very long values, and all memos start over when the budget is spent', () => {
  const budget = createMemoBudget(10);
  const a = createValueMemo<number>(budget);
  const b = createValueMemo<number>(budget);
  a.set('abcd', 1);
  b.set('efgh', 2);
  assert.equal(a.get('abcd'), 1);
  assert.equal(b.get('efgh'), 2);
  assert.equal(a.get('zzzz'), undefined);
  a.set('x'.repeat(2000), 3);
  assert.equal(a.get('x'.repeat(2000)), undefined, 'values over 1 KiB are not kept');
  // 4 + 4 + 4 > 10: the budget is spent, every memo starts over; the newest answer is kept.
  b.set('ijkl', 4);
  assert.equal(b.get('ijkl'), 4);
  assert.equal(a.get('abcd'), undefined);
  assert.equal(b.get('efgh'), undefined);
  assert.equal(budget.chars, 4);
});

test('a memo whose values never repeat stops looking for a while, then tries again; one that answers keeps answering', () => {
  const budget = createMemoBudget();
  const random = createValueMemo<number>(budget);
  for (let i = 0; i < 1024; i++) { assert.equal(random.get(`guid-${i}`), undefined); random.set(`guid-${i}`, i); }
  // The trial found no repeats: the memo neither looks nor remembers now.
  random.set('again', 1);
  assert.equal(random.get('again'), undefined);
  for (let i = 0; i < 64 * 1024; i++) random.get(`other-${i}`);
  random.set('again', 2);
  assert.equal(random.get('again'), 2, 'after the pause it remembers again');

  const repeating = createValueMemo<number>(budget);
  repeating.set('C:\\Windows\\System32\\svchost.exe', 7);
  for (let i = 0; i < 5000; i++) assert.equal(repeating.get('C:\\Windows\\System32\\svchost.exe'), 7);
});
