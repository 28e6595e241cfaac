import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KqlError, parseKql } from './index.js';

function parseError(text: string): KqlError {
  try {
    parseKql(text);
  } catch (error) {
    assert.ok(error instanceof KqlError, `expected a KqlError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a syntax error');
}

test('a pipeline parses into frozen pipe nodes, innermost first', () => {
  const q = parseKql('DeviceProcessEvents\n| where FileName =~ "cmd.exe"\n| take 10');
  assert.equal(q.statements.length, 1);
  const st = q.statements[0];
  assert.equal(st.kind, 'expr');
  if (st.kind !== 'expr') return;
  assert.equal(st.expr.kind, 'pipe');
  if (st.expr.kind !== 'pipe') return;
  assert.equal(st.expr.op.kind, 'take');
  assert.ok(Object.isFrozen(st.expr));
  assert.equal(st.expr.input.kind, 'pipe');
});

test('let statements bind scalars, lists, tables and lambdas', () => {
  const q = parseKql(`let n = 5;
let list = dynamic(["a", 'b']);
let T = DeviceEvents | where Timestamp > ago(1d);
let f = (x: string, y: int = 2) { strcat(x, "!") };
T | where ActionType in (list) | extend z = f(ActionType) | take n`);
  const kinds = q.statements.map((s) => (s.kind === 'let' ? `${s.name}:${s.value.kind}` : s.kind));
  assert.deepEqual(kinds, ['n:literal', 'list:literal', 'T:pipe', 'f:lambda', 'expr']);
});

test('timespan literals are milliseconds', () => {
  const q = parseKql('print a = 1d, b = 2h, c = 30m, d = 10s, e = 100ms, f = 1.5h');
  const st = q.statements[0];
  assert.ok(st.kind === 'expr' && st.expr.kind === 'print');
  if (st.kind !== 'expr' || st.expr.kind !== 'print') return;
  assert.deepEqual(st.expr.items.map((i) => (i.expr.kind === 'literal' ? i.expr.value : null)), [86_400_000, 7_200_000, 1_800_000, 10_000, 100, 5_400_000]);
});

test('strings: quotes, escapes, verbatim and obfuscated forms', () => {
  // Adjacent literals concatenate: 'it''s' is 'it' followed by 's'.
  const q = parseKql(`print a = 'it''s', b = "tab\\there", c = @"C:\\Windows\\", d = h"secret", e = @'say ''hi'''`);
  const st = q.statements[0];
  if (st.kind !== 'expr' || st.expr.kind !== 'print') return assert.fail('not a print');
  assert.deepEqual(st.expr.items.map((i) => (i.expr.kind === 'literal' ? i.expr.value : null)), ["its", 'tab\there', 'C:\\Windows\\', 'secret', "say 'hi'"]);
});

test('datetime() bodies are read verbatim and become epoch milliseconds UTC', () => {
  const q = parseKql('print a = datetime(2024-01-31), b = datetime(2024-01-31 10:00:00), c = datetime("2024-01-31T10:00:00.5Z")');
  const st = q.statements[0];
  if (st.kind !== 'expr' || st.expr.kind !== 'print') return assert.fail('not a print');
  assert.deepEqual(st.expr.items.map((i) => (i.expr.kind === 'literal' ? i.expr.value : null)), [
    Date.UTC(2024, 0, 31), Date.UTC(2024, 0, 31, 10), Date.UTC(2024, 0, 31, 10, 0, 0, 500),
  ]);
});

test('join options, keys and the default innerunique kind', () => {
  const q = parseKql('A | join (B | where x == 1) on Key, $left.L == $right.R | join kind=leftanti C on Key');
  const st = q.statements[0];
  if (st.kind !== 'expr' || st.expr.kind !== 'pipe' || st.expr.op.kind !== 'join') return assert.fail('not a join');
  assert.equal(st.expr.op.joinKind, 'leftanti');
  const inner = st.expr.input;
  if (inner.kind !== 'pipe' || inner.op.kind !== 'join') return assert.fail('not a join');
  assert.equal(inner.op.joinKind, 'innerunique');
  assert.deepEqual(inner.op.on.map((k) => [k.left, k.right]), [['Key', 'Key'], ['L', 'R']]);
});

test('hyphenated operators and negated string operators are single words', () => {
  const q = parseKql('T | project-away A, B* | mv-expand C to typeof(string) | where D !contains "x" and E !in~ ("a") and F !has "y"');
  const st = q.statements[0];
  assert.equal(st.kind, 'expr');
});

test('a syntax error names line and column and says what was expected', () => {
  const e = parseError('DeviceProcessEvents\n| where FileName == "cmd.exe"\n| summarize count() by');
  assert.equal(e.code, 'kql_syntax');
  assert.equal(e.status, 400);
  assert.equal(e.line, 3);
  assert.equal(e.column, 23);
  assert.match(e.message, /expected a value/i);
});

test('an unclosed string is reported where it starts', () => {
  const e = parseError('T\n| where a == "abc');
  assert.equal(e.line, 2);
  assert.equal(e.column, 14);
  assert.match(e.message, /never closed/);
});

test('an unknown tabular operator is named', () => {
  const e = parseError('T | frobnicate x');
  assert.equal(e.line, 1);
  assert.equal(e.column, 5);
  assert.match(e.message, /Unknown tabular operator 'frobnicate'/);
});

test('render is kept with its chart type', () => {
  const q = parseKql('T | summarize count() by bin(Timestamp, 1d) | render timechart with (title="x")');
  const st = q.statements[0];
  if (st.kind !== 'expr' || st.expr.kind !== 'pipe' || st.expr.op.kind !== 'render') return assert.fail('not a render');
  assert.equal(st.expr.op.chart, 'timechart');
  assert.deepEqual(st.expr.op.properties, { title: 'x' });
});
