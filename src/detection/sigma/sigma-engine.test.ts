// Unit tests for the Sigma engine. Cases follow the Sigma v2.1 specification's own examples
// (rules, modifiers appendix, correlation and filter specifications).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDetectionEngine, type DetectionInput, type DetectionOptions } from '../index.js';

const SYSMON = 'Microsoft-Windows-Sysmon/Operational';

/** A Sysmon process-creation event as ingest produces it: canonical row + flattened raw event. */
function proc(fields: Record<string, unknown>, time = '2026-01-01T00:00:00.000Z'): DetectionInput {
  return { table: 'DeviceProcessEvents', row: { Timestamp: time, _Raw: { Channel: SYSMON, EventID: 1, Computer: 'wks1', ...fields } } };
}
function security(eventId: number, fields: Record<string, unknown>, time = '2026-01-01T00:00:00.000Z'): DetectionInput {
  return { table: 'DeviceEvents', row: { Timestamp: time, _Raw: { Channel: 'Security', EventID: eventId, ...fields } } };
}

/** Load one process_creation rule with this detection block; returns a predicate over events. */
function rule(detection: string, options: DetectionOptions = {}) {
  const engine = createDetectionEngine(options);
  const report = engine.load([{ file: 't.yml', text: `title: t\nid: r1\nlogsource: { category: process_creation, product: windows }\ndetection:\n${detection}\n` }]);
  assert.deepEqual(report.failed, [], JSON.stringify(report.failed));
  return (fields: Record<string, unknown>) => engine.evaluate(proc(fields)).length === 1;
}

test('plain values match whole values, case-insensitively', () => {
  const m = rule(`  sel: { Image: 'C:\\Windows\\System32\\cmd.exe' }\n  condition: sel`);
  assert.equal(m({ Image: 'c:\\windows\\system32\\CMD.EXE' }), true);
  assert.equal(m({ Image: 'C:\\Windows\\System32\\cmd.exe.bak' }), false);
});

test('wildcards: * any run, ? one character', () => {
  const m = rule(`  sel: { CommandLine: 'net* user ?dmin' }\n  condition: sel`);
  assert.equal(m({ CommandLine: 'net.exe user admin' }), true);
  assert.equal(m({ CommandLine: 'net user xdmin' }), true);
  assert.equal(m({ CommandLine: 'net user dmin' }), false);
});

test('escaping: \\* is a literal star, \\\\* a backslash then a wildcard, a lone backslash stays', () => {
  const literalStar = rule(`  sel: { CommandLine: 'a\\*b' }\n  condition: sel`);
  assert.equal(literalStar({ CommandLine: 'a*b' }), true);
  assert.equal(literalStar({ CommandLine: 'axxb' }), false);
  const backslashThenWildcard = rule(`  sel: { CommandLine: 'a\\\\*' }\n  condition: sel`);
  assert.equal(backslashThenWildcard({ CommandLine: 'a\\anything' }), true);
  assert.equal(backslashThenWildcard({ CommandLine: 'ab' }), false);
  const windowsPath = rule(`  sel: { Image: 'C:\\Temp\\x.exe' }\n  condition: sel`);
  assert.equal(windowsPath({ Image: 'C:\\Temp\\x.exe' }), true);
});

test('contains, startswith, endswith', () => {
  const m = rule(`  a: { CommandLine|contains: 'mimikatz' }\n  b: { Image|startswith: 'C:\\Users\\' }\n  c: { Image|endswith: '\\evil.exe' }\n  condition: a or b or c`);
  assert.equal(m({ CommandLine: 'run MimiKatz now' }), true);
  assert.equal(m({ Image: 'c:\\users\\bob\\x.exe' }), true);
  assert.equal(m({ Image: 'D:\\evil.exe' }), true);
  assert.equal(m({ Image: 'D:\\good.exe', CommandLine: 'calc' }), false);
});

test('a value list is ORed; |all ANDs it', () => {
  const any = rule(`  sel: { CommandLine|contains: ['-enc', '-nop'] }\n  condition: sel`);
  assert.equal(any({ CommandLine: 'powershell -nop' }), true);
  const all = rule(`  sel: { CommandLine|contains|all: ['-enc', '-nop'] }\n  condition: sel`);
  assert.equal(all({ CommandLine: 'powershell -nop' }), false);
  assert.equal(all({ CommandLine: 'powershell -nop -enc AAA' }), true);
});

test('a list of maps is ORed, keys inside a map are ANDed', () => {
  const m = rule(`  sel:\n    - { Image|endswith: '\\a.exe', User: 'x' }\n    - { Image|endswith: '\\b.exe' }\n  condition: sel`);
  assert.equal(m({ Image: 'C:\\a.exe', User: 'x' }), true);
  assert.equal(m({ Image: 'C:\\a.exe', User: 'y' }), false);
  assert.equal(m({ Image: 'C:\\b.exe' }), true);
});

test('exists tests presence only', () => {
  const yes = rule(`  sel: { ParentUser|exists: true }\n  condition: sel`);
  assert.equal(yes({ ParentUser: '' }), true);
  assert.equal(yes({}), false);
  const no = rule(`  sel: { ParentUser|exists: false }\n  condition: sel`);
  assert.equal(no({}), true);
});

test('cased matches case-sensitively', () => {
  const m = rule(`  sel: { CommandLine|contains|cased: 'AbC' }\n  condition: sel`);
  assert.equal(m({ CommandLine: 'xAbCx' }), true);
  assert.equal(m({ CommandLine: 'xabcx' }), false);
});

test('neq: the field differs from every listed value', () => {
  const m = rule(`  sel: { Image|endswith: '.exe' }\n  other: { User|neq: ['alice', 'bob'] }\n  condition: sel and other`);
  assert.equal(m({ Image: 'x.exe', User: 'carol' }), true);
  assert.equal(m({ Image: 'x.exe', User: 'Alice' }), false);
  assert.equal(m({ Image: 'x.exe', User: 'bob' }), false);
});

test('windash: every dash variant of a flag (-, /, en dash, em dash, horizontal bar)', () => {
  const m = rule(`  sel: { CommandLine|contains|windash: ' -enc ' }\n  condition: sel`);
  for (const d of ['-', '/', '\u2013', '\u2014', '\u2015']) assert.equal(m({ CommandLine: `powershell ${d}enc AAA` }), true, d);
  assert.equal(m({ CommandLine: 'powershell +enc AAA' }), false);
  assert.equal(m({ CommandLine: 'powershell -Encoded' }), false);
});

test('re is case-sensitive by default; i, m and s flags', () => {
  const plain = rule(`  sel: { CommandLine|re: 'ab+c' }\n  condition: sel`);
  assert.equal(plain({ CommandLine: 'xabbbc' }), true);
  assert.equal(plain({ CommandLine: 'xABBC' }), false);
  const i = rule(`  sel: { CommandLine|re|i: 'ab+c' }\n  condition: sel`);
  assert.equal(i({ CommandLine: 'xABBC' }), true);
  const mFlag = rule(`  sel: { CommandLine|re|m: '^second$' }\n  condition: sel`);
  assert.equal(mFlag({ CommandLine: 'first\nsecond\nthird' }), true);
  const noM = rule(`  sel: { CommandLine|re: '^second$' }\n  condition: sel`);
  assert.equal(noM({ CommandLine: 'first\nsecond\nthird' }), false);
  const s = rule(`  sel: { CommandLine|re|s: 'a.b' }\n  condition: sel`);
  assert.equal(s({ CommandLine: 'a\nb' }), true);
  const noS = rule(`  sel: { CommandLine|re: 'a.b' }\n  condition: sel`);
  assert.equal(noS({ CommandLine: 'a\nb' }), false);
});

test('re uses a linear-time engine: a catastrophic pattern on 100 KB returns', () => {
  const m = rule(`  sel: { CommandLine|re: '(a+)+$' }\n  condition: sel`);
  assert.equal(m({ CommandLine: `${'a'.repeat(100_000)}!` }), false);
  assert.equal(m({ CommandLine: 'aaa' }), true);
});

test('base64 encodes the value', () => {
  // 'cmd' in base64 is 'Y21k'
  const m = rule(`  sel: { CommandLine|base64|contains: 'cmd' }\n  condition: sel`);
  assert.equal(m({ CommandLine: 'echo Y21k | decode' }), true);
  assert.equal(m({ CommandLine: 'cmd' }), false);
});

test('base64offset matches the value at any of the three byte offsets', () => {
  // pySigma's documented variants for 'http://': aHR0cDovL, h0dHA6Ly, odHRwOi8v
  const m = rule(`  sel: { CommandLine|base64offset|contains: 'http://' }\n  condition: sel`);
  assert.equal(m({ CommandLine: Buffer.from('http://x').toString('base64') }), true);
  assert.equal(m({ CommandLine: Buffer.from('Xhttp://x').toString('base64') }), true);
  assert.equal(m({ CommandLine: Buffer.from('XYhttp://x').toString('base64') }), true);
  assert.equal(m({ CommandLine: Buffer.from('ftp://x').toString('base64') }), false);
});

test('utf16le / wide, utf16be and utf16 (with BOM) before base64', () => {
  // spec: cmd > 63 00 6d 00 64 00 (utf16le), 00 63 00 6d 00 64 (utf16be), FF FE 63 00 6d 00 64 00 (utf16)
  const le = Buffer.from([0x63, 0, 0x6d, 0, 0x64, 0]).toString('base64');
  const be = Buffer.from([0, 0x63, 0, 0x6d, 0, 0x64]).toString('base64');
  const bom = Buffer.from([0xff, 0xfe, 0x63, 0, 0x6d, 0, 0x64, 0]).toString('base64');
  assert.equal(rule(`  sel: { CommandLine|utf16le|base64: 'cmd' }\n  condition: sel`)({ CommandLine: le }), true);
  assert.equal(rule(`  sel: { CommandLine|wide|base64: 'cmd' }\n  condition: sel`)({ CommandLine: le }), true);
  assert.equal(rule(`  sel: { CommandLine|utf16be|base64: 'cmd' }\n  condition: sel`)({ CommandLine: be }), true);
  assert.equal(rule(`  sel: { CommandLine|utf16|base64: 'cmd' }\n  condition: sel`)({ CommandLine: bom }), true);
  assert.equal(rule(`  sel: { CommandLine|wide|base64offset|contains: 'cmd' }\n  condition: sel`)({ CommandLine: `x${le}` }), true);
});

test('lt, lte, gt, gte compare numbers', () => {
  const m = rule(`  a: { TerminalSessionId|gt: 1 }\n  b: { TerminalSessionId|lte: 5 }\n  condition: a and b`);
  assert.equal(m({ TerminalSessionId: 2 }), true);
  assert.equal(m({ TerminalSessionId: '5' }), true);
  assert.equal(m({ TerminalSessionId: 1 }), false);
  assert.equal(m({ TerminalSessionId: 6 }), false);
  assert.equal(rule(`  a: { TerminalSessionId|lt: 1 }\n  condition: a`)({ TerminalSessionId: 0 }), true);
  assert.equal(rule(`  a: { TerminalSessionId|gte: 3 }\n  condition: a`)({ TerminalSessionId: 3 }), true);
});

test('time-part modifiers take minute, hour, day, week, month, year of a date (UTC)', () => {
  const at = { UtcTime: '2026-03-15 22:47:05.123' }; // a Sunday; ISO week 11
  assert.equal(rule(`  a: { UtcTime|minute: 47 }\n  condition: a`)(at), true);
  assert.equal(rule(`  a: { UtcTime|hour: 22 }\n  condition: a`)(at), true);
  assert.equal(rule(`  a: { UtcTime|hour|gte: 20 }\n  condition: a`)(at), true);
  assert.equal(rule(`  a: { UtcTime|hour|lt: 20 }\n  condition: a`)(at), false);
  assert.equal(rule(`  a: { UtcTime|day: 15 }\n  condition: a`)(at), true);
  assert.equal(rule(`  a: { UtcTime|week: 11 }\n  condition: a`)(at), true);
  assert.equal(rule(`  a: { UtcTime|month: 3 }\n  condition: a`)(at), true);
  assert.equal(rule(`  a: { UtcTime|year: 2026 }\n  condition: a`)(at), true);
  assert.equal(rule(`  a: { UtcTime|year: 2025 }\n  condition: a`)(at), false);
});

test('cidr: IPv4 and IPv6 ranges (spec example DestinationIp|cidr: 10.0.0.0/8)', () => {
  const m = rule(`  a: { DestinationIp|cidr: ['10.0.0.0/8', 'fe80::/10'] }\n  condition: a`);
  assert.equal(m({ DestinationIp: '10.20.30.40' }), true);
  assert.equal(m({ DestinationIp: '11.0.0.1' }), false);
  assert.equal(m({ DestinationIp: 'fe80::1' }), true);
  assert.equal(m({ DestinationIp: '2001:db8::1' }), false);
});

test('expand: placeholders take their values from options; a rule with unknown ones loads disabled and cannot be enabled', () => {
  const m = rule(`  a: { User|expand: '%Admins%' }\n  condition: a`, { placeholders: { '%Admins%': ['alice', 'bob'] } });
  assert.equal(m({ User: 'bob' }), true);
  assert.equal(m({ User: 'eve' }), false);
  const engine = createDetectionEngine();
  const report = engine.load([{ file: 'p.yml', text: 'title: t\nid: p1\nlogsource: { product: windows, category: process_creation }\ndetection:\n  a: { User|expand: "%Nobody%" }\n  f: { User|expand: "%Admins%" }\n  condition: a and not f\n' }]);
  assert.equal(report.loaded, 1);
  assert.deepEqual(report.failed, []);
  assert.deepEqual(report.rules[0]!.unresolvedPlaceholders, ['%Admins%', '%Nobody%']);
  assert.equal(report.rules[0]!.enabled, false);
  assert.match(report.warnings.map((w) => w.reason).join('\n'), /placeholder %Admins%, %Nobody% has no configured value/);
  assert.equal(engine.setEnabled('p1', true), true);
  assert.equal(engine.rule('p1')!.enabled, false);
  assert.deepEqual(engine.evaluate(proc({ User: 'eve' })), [], 'a rule waiting for placeholder values never fires');
});

test('fieldref compares with another field; with neq, endswith, contains', () => {
  assert.equal(rule(`  a: { ParentImage|fieldref: Image }\n  condition: a`)({ Image: 'C:\\x.exe', ParentImage: 'c:\\X.exe' }), true);
  assert.equal(rule(`  a: { ParentImage|fieldref: Image }\n  condition: a`)({ Image: 'C:\\x.exe', ParentImage: 'c:\\y.exe' }), false);
  assert.equal(rule(`  a: { ParentImage|fieldref|neq: Image }\n  condition: a`)({ Image: 'C:\\x.exe', ParentImage: 'c:\\y.exe' }), true);
  assert.equal(rule(`  a: { CommandLine|fieldref|endswith: Image }\n  condition: a`)({ Image: 'x.exe', CommandLine: 'run x.exe' }), true);
  assert.equal(rule(`  a: { CommandLine|fieldref|contains: User }\n  condition: a`)({ User: 'bob', CommandLine: 'su bob now' }), true);
});

test('null means absent or null; empty string matches an empty value', () => {
  const isNull = rule(`  sel: { Image|endswith: '.exe' }\n  none: { OriginalFileName: null }\n  condition: sel and none`);
  assert.equal(isNull({ Image: 'a.exe' }), true);
  assert.equal(isNull({ Image: 'a.exe', OriginalFileName: null }), true);
  assert.equal(isNull({ Image: 'a.exe', OriginalFileName: 'a.exe' }), false);
  const notNull = rule(`  sel: { Image|endswith: '.exe' }\n  none: { OriginalFileName: null }\n  condition: sel and not none`);
  assert.equal(notNull({ Image: 'a.exe', OriginalFileName: 'a.exe' }), true);
  const empty = rule(`  sel: { Description: '' }\n  condition: sel`);
  assert.equal(empty({ Description: '' }), true);
  assert.equal(empty({ Description: 'x' }), false);
  assert.equal(empty({}), false);
});

test('keywords search every field; |all ANDs them', () => {
  const m = rule(`  keywords: ['sekurlsa::', 'Trojan*FOUND']\n  condition: keywords`);
  assert.equal(m({ CommandLine: 'x SEKURLSA::logonpasswords' }), true);
  assert.equal(m({ Description: 'a Trojan.X FOUND' }), true);
  assert.equal(m({ CommandLine: 'nothing' }), false);
  const all = rule(`  keywords:\n    '|all': ['alpha', 'beta']\n  condition: keywords`);
  assert.equal(all({ CommandLine: 'alpha', Description: 'beta' }), true);
  assert.equal(all({ CommandLine: 'alpha' }), false);
});

test('rules bound to EventIDs fire for exactly those EventIDs (or, and, not, lists)', () => {
  const engine = createDetectionEngine();
  const rule = (id: string, detection: string) => ({ file: `${id}.yml`, text: `title: ${id}\nid: ${id}\nlogsource: { product: windows, service: security }\ndetection:\n${detection}\n` });
  engine.load([
    rule('list', `  sel: { EventID: [4624, '4625'], LogonType: 3 }\n  condition: sel`),
    rule('or', `  a: { EventID: 4624 }\n  b: { EventID: 4688 }\n  condition: a or b`),
    rule('not', `  a: { EventID: 4624 }\n  condition: not a`),
    rule('and', `  a: { EventID: 4624 }\n  b: { EventID: 4625 }\n  condition: a and b`),
    rule('keyed', `  a:\n    - { EventID: 4624 }\n    - { TargetUserName: admin }\n  condition: a`),
  ]);
  const fired = (id: number, fields: Record<string, unknown> = {}) => engine.evaluate(security(id, { LogonType: 3, ...fields })).map((m) => m.rule.key).sort();
  assert.deepEqual(fired(4624), ['keyed', 'list', 'or']);
  assert.deepEqual(fired(4625), ['list', 'not']);
  assert.deepEqual(fired(4688), ['not', 'or']);
  assert.deepEqual(fired(4634, { TargetUserName: 'Admin' }), ['keyed', 'not']);
});

test('a keyword inside a field that other rules also look at is still found', () => {
  const engine = createDetectionEngine();
  const text = (id: string, detection: string) => `title: ${id}\nid: ${id}\nlogsource: { category: process_creation, product: windows }\ndetection:\n${detection}\n`;
  engine.load([
    { file: 'k.yml', text: `title: k\nid: k\nlogsource: { product: windows }\ndetection:\n  keywords: ['sekurlsa::', 'lsadump::']\n  condition: keywords\n` },
    { file: 'c.yml', text: text('c', `  sel: { CommandLine|contains: ' -encodedcommand ' }\n  condition: sel`) },
  ]);
  const fired = (fields: Record<string, unknown>) => engine.evaluate(proc(fields)).map((m) => m.rule.key).sort();
  assert.deepEqual(fired({ CommandLine: 'x.exe "SEKURLSA::logonpasswords" exit' }), ['k']);
  assert.deepEqual(fired({ CommandLine: 'p.exe -EncodedCommand AAA', Description: 'lsadump::sam' }), ['c', 'k']);
  assert.deepEqual(fired({ CommandLine: 'p.exe', Description: 'nothing' }), []);
});

test('an event with its JSON text is ruled out by one search of it, and never wrongly', () => {
  const engine = createDetectionEngine();
  engine.load([{ file: 'k.yml', text: `title: k\nid: k\nlogsource: { product: windows }\ndetection:\n  keywords: ['sekurlsa::', 'mimidrv.sys', 'Kiwi Legit Printer']\n  condition: keywords\n` }]);
  // As the text reader gives it: the fields, and the line they were read from.
  const fromText = (data: Record<string, unknown>, line = JSON.stringify({ Event: { System: { Channel: SYSMON, EventID: 11 }, EventData: data } })): DetectionInput => (
    { table: 'DeviceFileEvents', row: {}, raw: { Channel: SYSMON, EventID: 11, ...data }, text: line });
  const fires = (input: DetectionInput) => engine.evaluate(input).length === 1;
  assert.equal(fires(fromText({ TargetFilename: 'C:\\x\\MIMIDRV.SYS' })), true);
  assert.equal(fires(fromText({ Details: 'KIWI legit printer' })), true);
  assert.equal(fires(fromText({ TargetFilename: 'C:\\x\\report.docx' })), false);
  // A Kelvin sign lower-cases to 'k'.
  assert.equal(fires(fromText({ Details: '\u212Aiwi Legit Printer' })), true);
});

test('keywords also search numeric fields, as their text, and long keyword lists match like short ones', () => {
  const port = rule(`  keywords: ['4444', '-1']\n  condition: keywords`);
  assert.equal(port({ DestinationPort: 4444 }), true);
  assert.equal(port({ Offset: -17 }), true);
  assert.equal(port({ DestinationPort: 444 }), false);
  const many = rule(`  keywords: ['kiwi', 'sekurlsa::', 'lsadump::', 'gentilkiwi', 'dumpcreds', 'Invoke-Mimikatz']\n  condition: keywords`);
  assert.equal(many({ CommandLine: 'powershell invoke-MIMIKATZ -dump' }), true);
  assert.equal(many({ ProcessId: 4242, CommandLine: 'lsadump:' }), false);
});

test('condition precedence: not binds tighter than and, and tighter than or', () => {
  // a or b and not c  ==  a or (b and (not c))
  const m = rule(`  a: { User: a }\n  b: { Image: b }\n  c: { CommandLine: c }\n  condition: a or b and not c`);
  assert.equal(m({ User: 'a', Image: 'b', CommandLine: 'c' }), true);
  assert.equal(m({ User: 'x', Image: 'b', CommandLine: 'c' }), false);
  assert.equal(m({ User: 'x', Image: 'b', CommandLine: 'd' }), true);
  const paren = rule(`  a: { User: a }\n  b: { Image: b }\n  c: { CommandLine: c }\n  condition: (a or b) and not c`);
  assert.equal(paren({ User: 'a', CommandLine: 'c' }), false);
});

test('1 of / any of / all of with wildcards, them, and _-prefixed names excluded', () => {
  const det = `  selection_a: { User: a }\n  selection_b: { Image: b }\n  _helper: { CommandLine: z }\n`;
  assert.equal(rule(`${det}  condition: 1 of selection_*`)({ Image: 'b' }), true);
  assert.equal(rule(`${det}  condition: any of selection_*`)({ Image: 'b' }), true);
  assert.equal(rule(`${det}  condition: all of selection_*`)({ Image: 'b' }), false);
  assert.equal(rule(`${det}  condition: all of selection_*`)({ Image: 'b', User: 'a' }), true);
  assert.equal(rule(`${det}  condition: all of them`)({ Image: 'b', User: 'a' }), true);
  assert.equal(rule(`${det}  condition: 1 of them`)({ CommandLine: 'z' }), false);
  assert.equal(rule(`${det}  condition: 1 of _helper`)({ CommandLine: 'z' }), true);
});

test('a condition list is ORed', () => {
  const m = rule(`  a: { User: a }\n  b: { Image: b }\n  condition:\n    - a\n    - b`);
  assert.equal(m({ Image: 'b' }), true);
  assert.equal(m({ User: 'a' }), true);
  assert.equal(m({ User: 'q' }), false);
});

test('parse errors are reported with file, line and column, and other rules still load', () => {
  const engine = createDetectionEngine();
  const report = engine.load([
    { file: 'bad-yaml.yml', text: 'title: x\nlogsource: { product: windows\ndetection: {}\n' },
    { file: 'bad-cond.yml', text: 'title: x\nlogsource: { product: windows }\ndetection:\n  sel: { a: 1 }\n  condition: sel and | count() > 5\n' },
    { file: 'bad-mod.yml', text: 'title: x\nlogsource: { product: windows }\ndetection:\n  sel:\n    Image|bogus: 1\n  condition: sel\n' },
    { file: 'good.yml', text: 'title: ok\nid: good\nlogsource: { product: windows }\ndetection:\n  sel: { a: 1 }\n  condition: sel\n' },
  ]);
  assert.equal(report.loaded, 1);
  assert.equal(report.total, 4);
  const byFile = Object.fromEntries(report.failed.map((f) => [f.file, f]));
  assert.ok(byFile['bad-yaml.yml']);
  assert.equal(byFile['bad-cond.yml']!.line, 5);
  assert.match(byFile['bad-cond.yml']!.reason, /legacy/);
  assert.equal(byFile['bad-mod.yml']!.line, 5);
  assert.equal(byFile['bad-mod.yml']!.column, 5);
  assert.match(byFile['bad-mod.yml']!.reason, /unknown modifier "bogus"/);
  assert.ok(engine.rule('good'));
});

test('logsource index: a rule meets only events of its channel and EventID; 4688 uses NewProcessName', () => {
  const engine = createDetectionEngine();
  engine.load([{ text: `title: t\nid: r\nlogsource: { category: process_creation, product: windows }\ndetection:\n  sel: { Image|endswith: '\\evil.exe' }\n  condition: sel\n` }]);
  assert.equal(engine.evaluate(proc({ Image: 'C:\\evil.exe' })).length, 1);
  assert.equal(engine.evaluate({ table: 'DeviceFileEvents', row: { _Raw: { Channel: SYSMON, EventID: 11, Image: 'C:\\evil.exe' } } }).length, 0);
  assert.equal(engine.evaluate(security(4688, { NewProcessName: 'C:\\evil.exe' })).length, 1);
  assert.equal(engine.evaluate(security(4624, { NewProcessName: 'C:\\evil.exe' })).length, 0);
});

test('Linux canonical rows (no _Raw) map Sigma fields to canonical columns', () => {
  const engine = createDetectionEngine();
  engine.load([{ text: `title: t\nid: r\nlogsource: { category: process_creation, product: linux }\ndetection:\n  sel: { Image|startswith: '/tmp/', ParentImage|endswith: '/bash', CommandLine|contains: 'x' }\n  condition: sel\n` }]);
  const row = { Timestamp: '2026-01-01T00:00:00.000Z', FolderPath: '/tmp/a', InitiatingProcessFolderPath: '/bin/bash', ProcessCommandLine: '/tmp/a x' };
  assert.equal(engine.evaluate({ table: 'DeviceProcessEvents', row }).length, 1);
  assert.equal(engine.evaluate({ table: 'DeviceProcessEvents', row: { ...row, FolderPath: '/usr/bin/a' } }).length, 0);
  assert.equal(engine.evaluate({ table: 'DeviceFileEvents', row }).length, 0);
});

test('disabled rules do not fire', () => {
  const engine = createDetectionEngine();
  engine.load([{ text: `title: t\nid: r\nlogsource: { category: process_creation, product: windows }\ndetection:\n  sel: { Image|endswith: '\\evil.exe' }\n  condition: sel\n` }]);
  assert.equal(engine.setEnabled('r', false), true);
  assert.equal(engine.evaluate(proc({ Image: 'C:\\evil.exe' })).length, 0);
  engine.setEnabled('r', true);
  assert.equal(engine.evaluate(proc({ Image: 'C:\\evil.exe' })).length, 1);
});

// --- filters (Sigma filters specification; example "Filter Administrator account") ---

test('a filter document suppresses its rules where the filter condition holds', () => {
  const engine = createDetectionEngine();
  engine.load([{ file: 'r.yml', text: `title: rar
id: 6f3e2987-db24-4c78-a860-b4f4095a7095
logsource: { category: process_creation, product: windows }
detection:
  sel: { Image|endswith: '\\rar.exe' }
  condition: sel
---
title: Filter Administrator account
description: The valid administrator account start with adm_
logsource:
    category: process_creation
    product: windows
filter:
    rules:
        - 6f3e2987-db24-4c78-a860-b4f4095a7095 # Data Compressed - rar.exe
    selection:
        User|startswith: 'adm_'
    condition: selection
` }]);
  assert.equal(engine.evaluate(proc({ Image: 'C:\\rar.exe', User: 'adm_bob' })).length, 0);
  assert.equal(engine.evaluate(proc({ Image: 'C:\\rar.exe', User: 'bob' })).length, 1);
});

// --- correlations (Sigma correlation rules specification) ---

const failedLogin = `title: Single failed login
id: 53ba33fd-3a50-4468-a5ef-c583635cfa92
name: failed_login
logsource: { product: windows, service: security }
detection:
  selection: { EventID: [529, 4625] }
  condition: selection
`;
const successfulLogin = `title: Successful login
id: 4d0a2c83-c62c-4ed4-b475-c7e23a9269b8
name: successful_login
logsource: { product: windows, service: security }
detection:
  selection: { EventID: [528, 4624] }
  condition: selection
`;
const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
const titles = (ms: { rule: { title: string } }[]) => ms.map((m) => m.rule.title);

test('event_count: fires when the count in the timespan reaches the condition, per group', () => {
  const engine = createDetectionEngine();
  engine.load([{ text: `title: Many failed logins
correlation:
  type: event_count
  rules: [failed_login]
  group-by: [TargetUserName]
  timespan: 1m
  condition: { gte: 3 }
---
${failedLogin}` }]);
  assert.deepEqual(titles(engine.evaluate(security(4625, { TargetUserName: 'bob' }, at(0)))), []);
  assert.deepEqual(titles(engine.evaluate(security(4625, { TargetUserName: 'alice' }, at(1)))), []);
  assert.deepEqual(titles(engine.evaluate(security(4625, { TargetUserName: 'bob' }, at(2)))), []);
  const fired = engine.evaluate(security(4625, { TargetUserName: 'bob' }, at(3)));
  assert.deepEqual(titles(fired), ['Many failed logins']);
  assert.equal(fired[0]!.events.length, 3);
  assert.deepEqual(fired[0]!.group, { TargetUserName: 'bob' });
});

test('event_count: events older than the timespan slide out', () => {
  const engine = createDetectionEngine();
  engine.load([{ text: `title: c\ncorrelation: { type: event_count, rules: [failed_login], group-by: [TargetUserName], timespan: 10s, condition: { gte: 2 } }\n---\n${failedLogin}` }]);
  assert.equal(engine.evaluate(security(4625, { TargetUserName: 'bob' }, at(0))).length, 0);
  assert.equal(engine.evaluate(security(4625, { TargetUserName: 'bob' }, at(30))).length, 0);
  assert.equal(engine.evaluate(security(4625, { TargetUserName: 'bob' }, at(35))).length, 1);
});

test('value_count: distinct values of the field per group', () => {
  const engine = createDetectionEngine();
  engine.load([{ text: `title: Failed login many users\ncorrelation:\n  type: value_count\n  rules: [failed_login]\n  group-by: [IpAddress]\n  timespan: 1d\n  condition: { field: TargetUserName, gte: 3 }\n---\n${failedLogin}` }]);
  assert.equal(engine.evaluate(security(4625, { IpAddress: '10.0.0.9', TargetUserName: 'a' }, at(0))).length, 0);
  assert.equal(engine.evaluate(security(4625, { IpAddress: '10.0.0.9', TargetUserName: 'a' }, at(1))).length, 0);
  assert.equal(engine.evaluate(security(4625, { IpAddress: '10.0.0.9', TargetUserName: 'b' }, at(2))).length, 0);
  assert.deepEqual(titles(engine.evaluate(security(4625, { IpAddress: '10.0.0.9', TargetUserName: 'c' }, at(3)))), ['Failed login many users']);
});

test('temporal: all rules within the timespan, any order, same group', () => {
  const engine = createDetectionEngine();
  engine.load([{ text: `title: fail and success\ncorrelation: { type: temporal, rules: [failed_login, successful_login], group-by: [TargetUserName], timespan: 5m }\n---\n${failedLogin}---\n${successfulLogin}` }]);
  assert.equal(engine.evaluate(security(4624, { TargetUserName: 'bob' }, at(0))).length, 0);
  assert.equal(engine.evaluate(security(4625, { TargetUserName: 'eve' }, at(1))).length, 0);
  assert.deepEqual(titles(engine.evaluate(security(4625, { TargetUserName: 'bob' }, at(2)))), ['fail and success']);
});

test('temporal_ordered: spec example, many failed logins followed by a success (chained correlations)', () => {
  const engine = createDetectionEngine();
  engine.load([{ text: `title: Correlation - Multiple Failed Logins Followed by Successful Login
id: b180ead8-d58f-40b2-ae54-c8940995b9b6
status: experimental
author: Florian Roth (Nextron Systems)
correlation:
    type: temporal_ordered
    rules:
        - multiple_failed_login
        - successful_login
    group-by:
        - User
    timespan: 10m
level: high
---
title: Multiple failed logons
id: a8418a5a-5fc4-46b5-b23b-6c73beb19d41
name: multiple_failed_login
correlation:
    type: event_count
    rules:
        - failed_login
    group-by:
        - User
    timespan: 10m
    condition:
        gte: 3
---
${failedLogin}---
${successfulLogin}` }]);
  // success first does not count: order matters
  assert.deepEqual(titles(engine.evaluate(security(4624, { User: 'bob' }, at(0)))), []);
  for (let i = 1; i <= 3; i++) assert.deepEqual(titles(engine.evaluate(security(4625, { User: 'bob' }, at(i)))), []);
  const fired = engine.evaluate(security(4624, { User: 'bob' }, at(10)));
  assert.deepEqual(titles(fired), ['Correlation - Multiple Failed Logins Followed by Successful Login']);
  assert.equal(fired[0]!.rule.level, 'high');
  assert.equal(fired[0]!.rule.author, 'Florian Roth (Nextron Systems)');
});

test('temporal_ordered does not fire when the order is reversed', () => {
  const engine = createDetectionEngine();
  engine.load([{ text: `title: o\ncorrelation: { type: temporal_ordered, rules: [failed_login, successful_login], group-by: [User], timespan: 5m }\n---\n${failedLogin}---\n${successfulLogin}` }]);
  assert.equal(engine.evaluate(security(4624, { User: 'bob' }, at(0))).length, 0);
  assert.equal(engine.evaluate(security(4625, { User: 'bob' }, at(1))).length, 0);
  assert.equal(engine.evaluate(security(4624, { User: 'bob' }, at(2))).length, 1);
});

const bytesRule = `title: web access
name: website_access
logsource: { product: windows, service: security }
detection:
  selection: { EventID: 5156 }
  condition: selection
`;
test('value_sum: the sum of a numeric field per group (spec: possible exfiltration)', () => {
  const engine = createDetectionEngine();
  engine.load([{ text: `title: Possible Exfiltration to Website\ncorrelation:\n  type: value_sum\n  rules: [website_access]\n  group-by: [SourceIP, User]\n  timespan: 1h\n  condition: { field: bytes_sent, gt: 1000000 }\n---\n${bytesRule}` }]);
  const ev = (n: number, s: number) => security(5156, { SourceIP: '10.0.0.1', User: 'bob', bytes_sent: n }, at(s));
  assert.equal(engine.evaluate(ev(600000, 0)).length, 0);
  assert.equal(engine.evaluate(ev(400000, 1)).length, 0);
  assert.deepEqual(titles(engine.evaluate(ev(1, 2))), ['Possible Exfiltration to Website']);
});

test('value_avg: the average of a numeric field per group', () => {
  const engine = createDetectionEngine();
  engine.load([{ text: `title: Suspicious average network traffic\ncorrelation:\n  type: value_avg\n  rules: [website_access]\n  group-by: [SourceIP]\n  timespan: 24h\n  condition: { field: BytesOut, gt: 500 }\n---\n${bytesRule}` }]);
  const ev = (n: number, s: number) => security(5156, { SourceIP: '10.0.0.1', BytesOut: n }, at(s));
  assert.equal(engine.evaluate(ev(100, 0)).length, 0);
  assert.equal(engine.evaluate(ev(800, 1)).length, 0); // avg 450
  assert.equal(engine.evaluate(ev(700, 2)).length, 1); // avg 533.3
});

test('value_percentile: rank of the newest value among the window values', () => {
  const engine = createDetectionEngine();
  engine.load([{ text: `title: rare process\ncorrelation:\n  type: value_percentile\n  rules: [website_access]\n  group-by: [ComputerName]\n  timespan: 24h\n  condition: { field: Image, lte: 10 }\n---\n${bytesRule}` }]);
  const ev = (img: string, s: number) => security(5156, { ComputerName: 'h', Image: img }, at(s));
  for (let i = 0; i < 10; i++) assert.equal(engine.evaluate(ev('common.exe', i)).length, 0);
  // 1 of 11 values (9.1 %) is rare.exe
  assert.deepEqual(titles(engine.evaluate(ev('rare.exe', 20))), ['rare process']);
});

test('aliases give differently named fields one group-by key (spec example)', () => {
  const engine = createDetectionEngine();
  engine.load([{ text: `title: aliased\ncorrelation:
  type: temporal
  rules: [internal_error, new_network_connection]
  group-by: [internal_ip]
  timespan: 10s
  aliases:
    internal_ip:
      internal_error: destination.ip
      new_network_connection: source.ip
---
title: e
name: internal_error
logsource: { product: windows, service: security }
detection: { selection: { EventID: 1 }, condition: selection }
---
title: n
name: new_network_connection
logsource: { product: windows, service: security }
detection: { selection: { EventID: 2 }, condition: selection }
` }]);
  assert.equal(engine.evaluate(security(1, { 'destination.ip': '10.1.1.1' }, at(0))).length, 0);
  assert.equal(engine.evaluate(security(2, { 'source.ip': '10.9.9.9' }, at(1))).length, 0);
  assert.deepEqual(titles(engine.evaluate(security(2, { 'source.ip': '10.1.1.1' }, at(2)))), ['aliased']);
});

test('generate: referenced rules emit their own matches only when asked', () => {
  const quiet = createDetectionEngine();
  quiet.load([{ text: `title: c\ncorrelation: { type: event_count, rules: [failed_login], group-by: [User], timespan: 1m, condition: { gte: 5 } }\n---\n${failedLogin}` }]);
  assert.equal(quiet.evaluate(security(4625, { User: 'x' })).length, 0);
  const loud = createDetectionEngine();
  loud.load([{ text: `title: c\ngenerate: true\ncorrelation: { type: event_count, rules: [failed_login], group-by: [User], timespan: 1m, condition: { gte: 5 } }\n---\n${failedLogin}` }]);
  assert.deepEqual(titles(loud.evaluate(security(4625, { User: 'x' }))), ['Single failed login']);
});

test('an upper-bound condition is decided when the window closes (flush)', () => {
  const engine = createDetectionEngine();
  engine.load([{ text: `title: few\ncorrelation: { type: event_count, rules: [failed_login], group-by: [User], timespan: 1m, condition: { lt: 3 } }\n---\n${failedLogin}` }]);
  assert.equal(engine.evaluate(security(4625, { User: 'x' }, at(0))).length, 0);
  assert.equal(engine.evaluate(security(4625, { User: 'x' }, at(5))).length, 0);
  assert.deepEqual(titles(engine.flush(Date.parse(at(120)))), ['few']);
});

test('correlation memory is bounded by the group cap', () => {
  const engine = createDetectionEngine({ maxCorrelationGroups: 2 });
  engine.load([{ text: `title: c\ncorrelation: { type: event_count, rules: [failed_login], group-by: [User], timespan: 1h, condition: { gte: 2 } }\n---\n${failedLogin}` }]);
  engine.evaluate(security(4625, { User: 'a' }, at(0)));
  engine.evaluate(security(4625, { User: 'b' }, at(1)));
  engine.evaluate(security(4625, { User: 'c' }, at(2))); // evicts 'a', the least recently used
  assert.equal(engine.evaluate(security(4625, { User: 'a' }, at(3))).length, 0);
  assert.equal(engine.evaluate(security(4625, { User: 'c' }, at(4))).length, 1);
});

test('a value seen before gets the same answer from the prefilter memo, and rule changes are seen at once', () => {
  const engine = createDetectionEngine();
  engine.load([
    { file: 'a.yml', text: `title: a\nid: ra\nlogsource: { category: process_creation, product: windows }\ndetection:\n  sel: { CommandLine|contains: 'mimi' }\n  condition: sel\n` },
    { file: 'b.yml', text: `title: b\nid: rb\nlogsource: { category: process_creation, product: windows }\ndetection:\n  sel: { Image|endswith: '\\evil.exe', CommandLine|contains: 'katz' }\n  condition: sel\n` },
  ]);
  const fired = (fields: Record<string, unknown>) => engine.evaluate(proc(fields)).map((m) => m.rule.title).sort();
  const event = { Image: 'C:\\Temp\\EVIL.exe', CommandLine: 'C:\\Temp\\evil.exe MimiKatz' };
  for (let i = 0; i < 3; i++) assert.deepEqual(fired(event), ['a', 'b'], `pass ${i}`);
  assert.deepEqual(fired({ Image: 'C:\\Temp\\good.exe', CommandLine: 'C:\\Temp\\evil.exe MimiKatz' }), ['a']);
  assert.deepEqual(fired({ Image: 'C:\\Temp\\EVIL.exe', CommandLine: 'C:\\Temp\\evil.exe' }), []);
  const a = engine.rules().find((r) => r.title === 'a')!;
  engine.setEnabled(a.key, false);
  assert.deepEqual(fired(event), ['b']);
  engine.setEnabled(a.key, true);
  assert.deepEqual(fired(event), ['a', 'b']);
});

test('the prefilter learns which of a rule\'s necessary conditions is rare in the telemetry, and results stay the same', () => {
  const engine = createDetectionEngine({ tuning: { firstAfter: 20, thenEvery: 1000, sample: 10, hotShare: 0.01 } });
  // Both items are necessary; the static guess (equal literal lengths, one atom each) indexes the first.
  engine.load([{ file: 'n.yml', text: `title: n\nid: rn\nlogsource: { category: network_connection, product: windows }\ndetection:\n  sel: { Initiated: 'true', DestinationPort: 4444 }\n  condition: sel\n` }]);
  const connect = (port: number) => engine.evaluate({
    table: 'DeviceNetworkEvents', row: { _Raw: { Channel: SYSMON, EventID: 3, Initiated: 'true', DestinationPort: port } },
  }).length;
  for (let i = 0; i < 20; i++) assert.equal(connect(443), 0);
  let [stats] = engine.bucketStats();
  assert.equal(stats!.evaluatedPerEvent, 1, 'before tuning every outbound connection passes the prefilter');
  assert.equal(stats!.retuned, 0);
  for (let i = 0; i < 10; i++) assert.equal(connect(443), 0); // the sample
  assert.equal(connect(4444), 1);
  for (let i = 0; i < 29; i++) assert.equal(connect(443), 0);
  [stats] = engine.bucketStats();
  assert.deepEqual({ ...stats, evaluatedPerEvent: Math.round(stats!.evaluatedPerEvent * 60) },
    { source: `${SYSMON}/3`, rules: 1, events: 60, evaluatedPerEvent: 31, retuned: 1 },
    'after tuning, only the connection to 4444 is evaluated (plus the 30 before)');
  assert.equal(connect(4444), 1);
});
