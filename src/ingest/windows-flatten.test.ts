import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normaliseWindowsEvent, normaliseWindowsEventText } from './windows-normaliser.js';
import { flattenWindowsEventText } from './windows-flatten.js';
import { createDetectionEngine } from '../detection/index.js';

/** What both paths make of a line: the table, the flat event and the row (key order included), or the error. */
function outcome(read: () => ReturnType<typeof normaliseWindowsEvent>): string {
  try {
    const e = read();
    return e === undefined ? 'undefined' : JSON.stringify([e.table, Object.entries(e.raw), Object.entries(e.row)]);
  } catch (err) {
    return `throws ${(err as Error).name}`;
  }
}

function assertSameAsParsed(line: string): void {
  // Twice: the first read of a shape is field by field, the second by its learned template.
  for (let round = 0; round < 2; round++) {
    assert.equal(outcome(() => normaliseWindowsEventText(line)), outcome(() => normaliseWindowsEvent(JSON.parse(line))), `${line} (read ${round + 1})`);
  }
}

const sysmon = (eventData: string, system = '"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"WKS-1.corp"') =>
  `{"Event":{"#attributes":{"xmlns":"http://schemas.microsoft.com/win/2004/08/events/event"},"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon"}},${system},"TimeCreated":{"#attributes":{"SystemTime":"2026-11-02T08:00:00.1234567Z"}},"EventRecordID":7},"EventData":${eventData}}}`;

test('an evtx_dump line read from its text gives what parsing and walking it gives', () => {
  const lines = [
    sysmon('{"Image":"C:\\\\Windows\\\\System32\\\\cmd.exe","CommandLine":"cmd /c \\"echo \\\\\\"hi\\\\\\"\\" \\u00e9\\n\\t\\/","ParentImage":"C:\\\\x.exe"}'),
    sysmon('{"Image":"C:\\\\Windows\\\\explorer.exe","CommandLine":"explorer.exe","ParentImage":"C:\\\\Windows\\\\userinit.exe"}'),
    // Value types: numbers in JSON's grammar, true/false/null; an escaped quote and the next key in a value.
    sysmon('{"A":-0,"B":1.5e-3,"C":12E+2,"D":true,"E":false,"F":null,"G":"x\\",\\"Image\\":\\"y"}'),
    // Pretty-printed, as evtx_dump writes by default.
    JSON.stringify(JSON.parse(sysmon('{"Image":"C:\\\\a.exe"}')), null, 2).replace(/\n/g, ' '),
    // The EventID as text, and as a value with attributes (#text: left to the walk).
    sysmon('{"Image":"a"}', '"EventID":"4688","Channel":"Security","Computer":"DC1"'),
    sysmon('{"Image":"a"}', '"EventID":{"#attributes":{"Qualifiers":""},"#text":4688},"Channel":"Security","Computer":"DC1"'),
    // <Data Name="…"> lists, nested data, EventData null, UserData, '#attributes' in EventData.
    sysmon('{"Data":[{"#attributes":{"Name":"New Process Name"},"#text":"C:\\\\a.exe"}]}'),
    sysmon('{"Outer":{"Inner":"v"},"#attributes":{"x":[1,{"y":2}]},"Image":"b"}'),
    sysmon('null'),
    sysmon('{}').replace('"EventData":{}', '"UserData":{"LogFileCleared":{"SubjectUserName":"bob"}}'),
    // Repeated keys: a parsed object keeps the last, in the first one's place.
    sysmon('{"Image":"first","CommandLine":"c","Image":"last"}'),
    sysmon('{"Image":"a"}', '"EventID":1,"Channel":"S","Computer":"A","Computer":"B"'),
    sysmon('{"Image":"a"}', '"EventID":1,"Channel":"S","Execution":{"#attributes":{"ProcessID":1}},"Execution":{"#attributes":{"ThreadID":2}}'),
    sysmon('{"Image":"a"}', '"EventID":1,"Channel":"S","Correlation":null,"Correlation":{"#attributes":{"ActivityID":"x"}}'),
    sysmon('{"Image":"a"}', '"EventID":1,"Channel":"S","Correlation":{"#attributes":{"ActivityID":"x"}},"Correlation":null'),
    // Keys an object orders by value ("1" first), a __proto__ field, an empty key, a key with a space.
    sysmon('{"Image":"a","1":"one","__proto__":{"x":1},"":"empty","Logon Id":"0x3e7"}'),
    sysmon('{"Image":"a","__proto__":"p"}'),
    // System after EventData, EventData twice, no System, another top-level key.
    '{"Event":{"EventData":{"Image":"a"},"System":{"EventID":1,"Channel":"S"}}}',
    '{"Event":{"System":{"EventID":1,"Channel":"S"},"EventData":{"Image":"a"},"EventData":{"Image":"b"}}}',
    '{"Event":{"EventData":{"Image":"a"}}}',
    '{"Event":{"System":{"EventID":1,"Channel":"S"}},"Extra":1}',
    '{"System":{"EventID":1,"Channel":"S","Computer":"X"},"EventData":{"Image":"a"}}',
    // Not JSON, or not a Windows event.
    sysmon('{"Image":"a",}'), sysmon('{"Image":01}'), sysmon('{"Image":"a"}') + 'x', sysmon('{"Image":"\\x"}'),
    sysmon('{"Image":"\\u12"}'), sysmon('{"Image":tru}'), sysmon('{"Image":"a"'), '{}', '[]', '5', '"Event"', '',
  ];
  for (const line of lines) assertSameAsParsed(line);
});

test('lines that differ from a learned template anywhere but in a value are read field by field, and still match parsing', () => {
  const base = JSON.parse(sysmon('{"Image":"C:\\\\Windows\\\\System32\\\\svchost.exe","CommandLine":"svchost.exe -k netsvcs","Hashes":"SHA1=AB,MD5=CD","ProcessId":4242,"Signed":"true"}')) as unknown;
  const line = JSON.stringify(base);
  assertSameAsParsed(line);
  // Bounded, deterministic mutations: a character removed, duplicated or replaced by JSON punctuation.
  let seed = 7;
  const rand = (n: number) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
  const punctuation = ['"', ',', ':', '{', '}', '[', ']', '\\', ' ', '0', '-', 'e', 'n', 'x'];
  for (let i = 0; i < 3000; i++) {
    const at = rand(line.length);
    const kind = rand(3);
    const mutated = kind === 0 ? line.slice(0, at) + line.slice(at + 1)
      : kind === 1 ? line.slice(0, at) + line[at] + line.slice(at)
        : line.slice(0, at) + punctuation[rand(punctuation.length)] + line.slice(at + 1);
    assertSameAsParsed(mutated);
  }
});

test('the text reader leaves lines of other shapes to the parser', () => {
  assert.equal(flattenWindowsEventText('{"Event":{"System":{"EventID":1},"EventData":{"Data":[{"#text":"x"}]}}}'), null);
  assert.equal(flattenWindowsEventText('not json'), null);
  assert.notEqual(flattenWindowsEventText(sysmon('{"Image":"a"}')), null);
});

test('an event read from its text carries the text for the keyword search only when no \\u escape hides a value', () => {
  const plain = sysmon('{"Details":"mimidrv.sys"}');
  const escaped = sysmon('{"Details":"mimidrv\\u002esys"}');
  assert.equal(normaliseWindowsEventText(plain)!.raw.Details, normaliseWindowsEventText(escaped)!.raw.Details);
  assert.equal((normaliseWindowsEventText(plain) as { text?: string }).text, plain);
  assert.equal((normaliseWindowsEventText(escaped) as { text?: string }).text, undefined);
  const engine = createDetectionEngine();
  engine.load([{ file: 'k.yml', text: 'title: k\nid: k\nlogsource: { product: windows }\ndetection:\n  keywords: [mimidrv.sys]\n  condition: keywords\n' }]);
  assert.equal(engine.evaluate(normaliseWindowsEventText(plain)!).length, 1);
  assert.equal(engine.evaluate(normaliseWindowsEventText(escaped)!).length, 1);
});

test('a value the first lines of a template all had is read as fixed, and a line with another value is still read right', () => {
  const line = (provider: string, version: string, details: string) => sysmon(`{"Details":"${details}"}`,
    `"EventID":13,"Version":${version},"Channel":"${provider}","Computer":"WKS-1.corp"`);
  for (let i = 0; i < 100; i++) assertSameAsParsed(line('Microsoft-Windows-Sysmon/Operational', '5', `v${i}`));
  // The fixed version 5 is a prefix of 55; the fixed channel differs; a fixed value written with \u.
  assertSameAsParsed(line('Microsoft-Windows-Sysmon/Operational', '55', 'x'));
  assertSameAsParsed(line('Microsoft-Windows-Sysmon/Operationa', '5', 'x'));
  assertSameAsParsed(line('Microsoft-Windows-Sysmon/Operational', '5.0', 'x'));
  // Another template (a Level before the channel), whose fixed channel is written with \u.
  const other = (details: string) => sysmon(`{"Details":"${details}"}`, '"EventID":13,"Level":4,"Channel":"Sysmon\\u002fOperational","Computer":"WKS-1.corp"');
  for (let i = 0; i < 100; i++) assertSameAsParsed(other(`w${i}`));
  const escaped = normaliseWindowsEventText(other('mimidrv.sys'))!;
  assert.equal(escaped.raw.Channel, 'Sysmon/Operational');
  assert.equal((escaped as { text?: string }).text, undefined, 'a fixed value written with \\u still withholds the text');
});
