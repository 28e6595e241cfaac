// KQL semantics pinned on small tables (kql-usage.md §10 gotchas). Expected rows are written out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KqlError } from './index.js';
import { createTestHunting } from './test-support.js';

const NOW = Date.UTC(2024, 0, 31, 12, 0, 0);
const t = createTestHunting({ now: NOW });
const hunt = (q: string) => t.hunting.hunt(q);
const rows = async (q: string) => (await hunt(q)).rows;

const LEFT = 'datatable(k:long, v:string)[1, "a", 1, "b", 2, "c", 3, "d"]';
const RIGHT = 'datatable(k:long, w:string)[1, "x", 1, "y", 2, "z", 4, "q"]';
const sortRows = (r: unknown[][]) => [...r].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

test('has matches whole terms; contains matches substrings', async () => {
  const data = 'datatable(s:string)["KustoExplorerQueryRun", "run cmd.exe /c", "xcmd.exe", "Explorer.exe started"]';
  assert.deepEqual(await rows(`${data} | where s has "Explorer"`), [['Explorer.exe started']]);
  assert.deepEqual(await rows(`${data} | where s contains "Explorer" | count`), [[2]]);
  assert.deepEqual(await rows(`${data} | where s has "cmd.exe"`), [['run cmd.exe /c']]);
  assert.deepEqual(await rows(`${data} | where s has "EXPLORER.EXE"`), [['Explorer.exe started']]);
  assert.deepEqual(await rows(`${data} | where s !has "exe" | project s`), [['KustoExplorerQueryRun']]);
});

test('has_any and has_all take lists and let-bound dynamic arrays', async () => {
  const data = 'datatable(s:string)["net user admin /domain", "net group", "whoami /all"]';
  assert.deepEqual(await rows(`let terms = dynamic(["user", "whoami"]); ${data} | where s has_any (terms)`), [['net user admin /domain'], ['whoami /all']]);
  assert.deepEqual(await rows(`${data} | where s has_all ("net", "domain")`), [['net user admin /domain']]);
  assert.deepEqual(await rows(`${data} | where s has_any ("us")`), []);
});

test('has_any and has_all keep term semantics with their substring prefilter', async () => {
  const data = 'datatable(s:string)["Invoke-Mimikatz -x", "mimikatzish", "copy 100% done", "a_b c", "ÉTÉ chaud", ""]';
  // A substring that is not a whole term does not match; case does not matter.
  assert.deepEqual(await rows(`${data} | where s has_any ("MIMIKATZ", "zzz")`), [['Invoke-Mimikatz -x']]);
  assert.deepEqual(await rows(`${data} | where s has_all ("invoke", "mimikatz")`), [['Invoke-Mimikatz -x']]);
  assert.deepEqual(await rows(`${data} | where s has_all ("invoke", "chaud")`), []);
  // LIKE wildcards in a term are literal characters.
  assert.deepEqual(await rows(`${data} | where s has_any ("100%", "a_b")`), [['copy 100% done'], ['a_b c']]);
  assert.deepEqual(await rows(`${data} | where s has_any ("a%b")`), []);
  // Non-ASCII terms fold case as Kusto does (LIKE would not), so they skip the prefilter.
  assert.deepEqual(await rows(`${data} | where s has_any ("été")`), [['ÉTÉ chaud']]);
  assert.deepEqual(await rows(`${data} | where s !has_any ("mimikatz", "chaud") | count`), [[4]]);
  assert.match(t.hunting.compile(`${data} | where s has_any ("mimikatz", "x")`).sql, /LIKE '%mimikatz%'.*\) OR .*LIKE '%x%'.*\)\) AND kql_has_any\(/);
});

test('string operators are case-insensitive unless _cs; == is case-sensitive', async () => {
  const data = 'datatable(s:string)["PowerShell.exe", "powershell.exe", "cmd.exe"]';
  assert.deepEqual(await rows(`${data} | where s == "powershell.exe"`), [['powershell.exe']]);
  assert.deepEqual(await rows(`${data} | where s =~ "POWERSHELL.EXE" | count`), [[2]]);
  assert.deepEqual(await rows(`${data} | where s !~ "POWERSHELL.EXE"`), [['cmd.exe']]);
  assert.deepEqual(await rows(`${data} | where s in~ ("POWERSHELL.EXE", "x") | count`), [[2]]);
  assert.deepEqual(await rows(`${data} | where s in ("PowerShell.exe")`), [['PowerShell.exe']]);
  assert.deepEqual(await rows(`${data} | where s contains_cs "Shell"`), [['PowerShell.exe']]);
  assert.deepEqual(await rows(`${data} | where s startswith "POWER" | count`), [[2]]);
  assert.deepEqual(await rows(`${data} | where s startswith_cs "Power"`), [['PowerShell.exe']]);
  assert.deepEqual(await rows(`${data} | where s endswith ".EXE" | count`), [[3]]);
  assert.deepEqual(await rows(`${data} | where s matches regex "^[Pp]ower" | count`), [[2]]);
  assert.deepEqual(await rows(`${data} | where s matches regex "(?i)^POWER" | count`), [[2]]);
});

test('join kinds: innerunique (default) dedupes the left keys, inner does not', async () => {
  const unique = await rows(`${LEFT} | join ${RIGHT} on k | project k, w`);
  assert.deepEqual(sortRows(unique), [[1, 'x'], [1, 'y'], [2, 'z']]);
  const inner = await rows(`${LEFT} | join kind=inner ${RIGHT} on k | project v, w`);
  assert.deepEqual(sortRows(inner), [['a', 'x'], ['a', 'y'], ['b', 'x'], ['b', 'y'], ['c', 'z']]);
});

test('join keeps both key columns and suffixes the right duplicate with 1', async () => {
  const res = await hunt(`${LEFT} | join kind=inner ${RIGHT} on k | where v == "c"`);
  assert.deepEqual(res.columns.map((c) => c.name), ['k', 'v', 'k1', 'w']);
  assert.deepEqual(res.rows, [[2, 'c', 2, 'z']]);
});

test('join kinds: outer joins keep unmatched rows with nulls', async () => {
  assert.deepEqual(sortRows(await rows(`${LEFT} | join kind=leftouter ${RIGHT} on k | where isnull(k1) | project v, w`)), [['d', '']]);
  assert.deepEqual(sortRows(await rows(`${LEFT} | join kind=rightouter ${RIGHT} on k | where isnull(k) | project k1, w`)), [[4, 'q']]);
  assert.deepEqual(await rows(`${LEFT} | join kind=fullouter ${RIGHT} on k | count`), [[7]]);
});

test('join kinds: semi and anti joins return one side only', async () => {
  const ls = await hunt(`${LEFT} | join kind=leftsemi ${RIGHT} on k`);
  assert.deepEqual(ls.columns.map((c) => c.name), ['k', 'v']);
  assert.deepEqual(sortRows(ls.rows), [[1, 'a'], [1, 'b'], [2, 'c']]);
  assert.deepEqual(await rows(`${LEFT} | join kind=leftanti ${RIGHT} on k`), [[3, 'd']]);
  const rs = await hunt(`${LEFT} | join kind=rightsemi ${RIGHT} on k`);
  assert.deepEqual(rs.columns.map((c) => c.name), ['k', 'w']);
  assert.deepEqual(sortRows(rs.rows), [[1, 'x'], [1, 'y'], [2, 'z']]);
  assert.deepEqual(await rows(`${LEFT} | join kind=rightanti ${RIGHT} on k`), [[4, 'q']]);
});

test('join on $left.A == $right.B', async () => {
  assert.deepEqual(await rows(`${LEFT} | join kind=inner (${RIGHT} | project-rename kk = k) on $left.k == $right.kk | where v == "c" | project v, kk, w`), [['c', 2, 'z']]);
});

test('summarize count() by bin(Timestamp, 1h) rounds down and names the column Timestamp', async () => {
  const data = 'datatable(Timestamp:datetime, n:long)[datetime(2024-01-31 10:05), 1, datetime(2024-01-31 10:59:59), 2, datetime(2024-01-31 11:00), 3]';
  const res = await hunt(`${data} | summarize count(), total = sum(n) by bin(Timestamp, 1h) | sort by Timestamp asc`);
  assert.deepEqual(res.columns, [{ name: 'Timestamp', type: 'datetime' }, { name: 'count_', type: 'long' }, { name: 'total', type: 'long' }]);
  assert.deepEqual(res.rows, [['2024-01-31T10:00:00.000Z', 2, 3], ['2024-01-31T11:00:00.000Z', 1, 3]]);
});

test('aggregates: dcount, countif, make_set, arg_max(*) and their default names', async () => {
  const data = 'datatable(d:string, f:string, n:long)["a", "x", 1, "a", "y", 5, "a", "x", 3, "b", "z", 2]';
  const res = await hunt(`${data} | summarize dcount(f), countif(n > 1), make_set(f) by d | sort by d asc`);
  assert.deepEqual(res.columns.map((c) => c.name), ['d', 'dcount_f', 'countif_', 'set_f']);
  assert.deepEqual(res.rows, [['a', 2, 2, ['x', 'y']], ['b', 1, 1, ['z']]]);
  const latest = await rows(`${data} | summarize arg_max(n, *) by d | sort by d asc`);
  assert.deepEqual(latest, [['a', 5, 'y'], ['b', 2, 'z']]);
  const both = await rows(`${data} | summarize arg_max(n, f), arg_min(n, f) by d | sort by d asc`);
  assert.deepEqual(both, [['a', 5, 'y', 1, 'x'], ['b', 2, 'z', 2, 'z']]);
});

test('null handling: strings are never null, tostring(null) is empty, negations include empties', async () => {
  const data = 'datatable(s:string, d:dynamic)["abc", dynamic({"k": 1}), "", dynamic(null)]';
  assert.deepEqual(await rows(`${data} | extend t = tostring(d.k) | project s, t`), [['abc', '1'], ['', '']]);
  assert.deepEqual(await rows(`${data} | where isempty(s) | count`), [[1]]);
  assert.deepEqual(await rows(`${data} | where isnull(d.k) | count`), [[1]]);
  assert.deepEqual(await rows(`${data} | where s != "abc" | count`), [[1]]);
  assert.deepEqual(await rows(`${data} | where s !contains "b" | count`), [[1]]);
  assert.deepEqual(await rows(`${data} | where not(s has "abc") | count`), [[1]]);
  assert.deepEqual(await rows('print a = tostring(int(null)), b = isnull(int(null)), c = strcat("x", int(null))'), [['', true, 'x']]);
});

test('dynamic access: properties, indexes, parse_json of strings, missing keys', async () => {
  const data = `datatable(AdditionalFields:string)['{"Command":"net user","Args":["a","b"],"Nested":{"Key":"v"}}', 'not json']`;
  const res = await rows(`${data} | extend j = parse_json(AdditionalFields) | project c = tostring(j.Command), a1 = tostring(j.Args[1]), last = tostring(j.Args[-1]), n = tostring(j["Nested"].Key), m = tostring(j.Missing)`);
  assert.deepEqual(res, [['net user', 'b', 'b', 'v', ''], ['', '', '', '', '']]);
  assert.deepEqual(await rows('print x = array_length(dynamic([1, 2, 3])), y = dynamic({"a": [1, {"b": 2}]}).a[1].b'), [[3, 2]]);
});

test('dynamic columns of a table keep JSON; member access reads them', async () => {
  t.insert('CloudAppEvents', [
    { Timestamp: '2024-01-31T11:00:00.000Z', ActionType: 'New-InboxRule', RawEventData: { Operation: 'New-InboxRule', Parameters: [{ Name: 'ForwardTo', Value: 'evil@x.example' }] } },
  ]);
  const res = await hunt('CloudAppEvents | where RawEventData.Operation == "New-InboxRule" | mv-expand p = RawEventData.Parameters | project Name = tostring(p.Name), Value = tostring(p.Value), p');
  assert.deepEqual(res.rows, [['ForwardTo', 'evil@x.example', { Name: 'ForwardTo', Value: 'evil@x.example' }]]);
  assert.deepEqual(res.columns.map((c) => c.type), ['string', 'string', 'dynamic']);
});

test('ago() and now() use one clock; between includes both ends', async () => {
  assert.deepEqual(await rows('print a = now() - ago(1d), b = now()'), [['1.00:00:00', '2024-01-31T12:00:00.000Z']]);
  const data = 'datatable(n:long)[1, 2, 3, 4]';
  assert.deepEqual(await rows(`${data} | where n between (2 .. 3)`), [[2], [3]]);
  assert.deepEqual(await rows(`${data} | where n !between (2 .. 3)`), [[1], [4]]);
});

test('the hunting window drops rows older than 30 days; results past the cap are truncated', async () => {
  const h = createTestHunting({ now: NOW, maxRows: 2 });
  h.insert('DeviceProcessEvents', [
    { Timestamp: '2024-01-30T00:00:00.000Z', DeviceName: 'a', FileName: 'x.exe' },
    { Timestamp: '2024-01-20T00:00:00.000Z', DeviceName: 'b', FileName: 'x.exe' },
    { Timestamp: '2024-01-10T00:00:00.000Z', DeviceName: 'c', FileName: 'x.exe' },
    { Timestamp: '2023-12-01T00:00:00.000Z', DeviceName: 'old', FileName: 'x.exe' },
  ]);
  const all = await h.hunting.hunt('DeviceProcessEvents | summarize make_set(DeviceName)');
  assert.deepEqual(all.rows, [[['a', 'b', 'c']]]);
  const capped = await h.hunting.hunt('DeviceProcessEvents | project DeviceName');
  assert.equal(capped.rows.length, 2);
  assert.equal(capped.truncated, true);
  h.close();
});

test('let tables, lambdas, toscalar and in (tabular) compose', async () => {
  const q = `let Known = datatable(n:string)["a", "b"];
let limit = toscalar(datatable(x:long)[1, 2] | summarize max(x));
let shout = (s:string) { toupper(s) };
datatable(n:string)["a", "c", "d"] | where n !in (Known) | extend u = shout(n) | take limit`;
  assert.deepEqual(await rows(q), [['c', 'C'], ['d', 'D']]);
});

test('extend items see earlier items; project-rename, project-away and project-reorder', async () => {
  const res = await hunt('print a = 1 | extend b = a + 1, c = b * 10 | project-rename z = a | project-away b | project-reorder c');
  assert.deepEqual(res.columns.map((c) => c.name), ['c', 'z']);
  assert.deepEqual(res.rows, [[20, 1]]);
});

test('extract, split, strcat and iff', async () => {
  const res = await rows(`print cmd = "powershell -enc SQBFAFgA" | extend b64 = extract(@"-enc\\s+(\\S+)", 1, cmd), parts = split(cmd, " "), tag = iff(cmd has "enc", strcat("enc:", "yes"), "no")`);
  assert.deepEqual(res, [['powershell -enc SQBFAFgA', 'SQBFAFgA', ['powershell', '-enc', 'SQBFAFgA'], 'enc:yes']]);
});

test('an unknown table, column or function fails with its name and position', async () => {
  await assert.rejects(hunt('DeviceTvmSoftwareInventory | take 1'), (e: unknown) => e instanceof KqlError && e.code === 'kql_semantic' && /'DeviceTvmSoftwareInventory'/.test(e.message) && e.line === 1 && e.column === 1);
  await assert.rejects(hunt('DeviceProcessEvents\n| where NoSuchColumn == 1'), (e: unknown) => e instanceof KqlError && /Unknown column or variable 'NoSuchColumn'/.test(e.message) && e.line === 2 && e.column === 9);
  await assert.rejects(hunt('print x = frob(1)'), (e: unknown) => e instanceof KqlError && /frob/.test(e.message));
});

test('union isfuzzy tolerates missing tables; union without it does not', async () => {
  t.insert('DeviceFileEvents', [{ Timestamp: '2024-01-31T10:00:00.000Z', FileName: 'f.txt' }]);
  assert.deepEqual(await rows('union isfuzzy=true DeviceFileEvents, NoSuchTable | project FileName'), [['f.txt']]);
  await assert.rejects(hunt('union DeviceFileEvents, NoSuchTable'), /NoSuchTable/);
});

test('render is returned for the console', async () => {
  const res = await hunt('datatable(x:string)["a", "a", "b"] | summarize count() by x | render piechart');
  assert.deepEqual(res.render, { chart: 'piechart', properties: {} });
});

test('FileProfile() returns its documented columns marked Missing', async () => {
  const res = await hunt('datatable(SHA1:string)["abc"] | invoke FileProfile(SHA1, 1000) | project SHA1, GlobalPrevalence, ProfileAvailability');
  assert.deepEqual(res.rows, [['abc', null, 'Missing']]);
});

test('parse extracts typed columns between literals', async () => {
  assert.deepEqual(await rows('print s = "user=alice id=42 ok" | parse s with "user=" user " id=" id:long " " * | project user, id'), [['alice', 42]]);
});

test('make-series builds dense arrays per group', async () => {
  const data = 'datatable(Timestamp:datetime, d:string)[datetime(2024-01-31 09:10), "a", datetime(2024-01-31 09:20), "a", datetime(2024-01-31 11:00), "a"]';
  const res = await hunt(`${data} | make-series c = count() default = 0 on Timestamp from datetime(2024-01-31 09:00) to datetime(2024-01-31 12:00) step 1h by d`);
  assert.deepEqual(res.columns.map((c) => c.name), ['d', 'c', 'Timestamp']);
  assert.deepEqual(res.rows, [['a', [2, 0, 1], ['2024-01-31T09:00:00Z', '2024-01-31T10:00:00Z', '2024-01-31T11:00:00Z']]]);
});

test('lookup adds the right side columns without repeating the key', async () => {
  const res = await hunt(`${LEFT} | lookup (${RIGHT} | where w != "y") on k | sort by v asc`);
  assert.deepEqual(res.columns.map((c) => c.name), ['k', 'v', 'w']);
  assert.deepEqual(res.rows, [[1, 'a', 'x'], [1, 'b', 'x'], [2, 'c', 'z'], [3, 'd', '']]);
});

test('datetime functions: datetime_diff counts boundaries, startofday, format_datetime', async () => {
  const res = await rows('print a = datetime_diff("day", datetime(2024-01-31 00:10), datetime(2024-01-30 23:50)), b = startofday(datetime(2024-01-31 13:45)), c = format_datetime(datetime(2024-01-31 13:45:07), "yyyy-MM-dd HH:mm:ss"), d = dayofweek(datetime(2024-01-31))');
  assert.deepEqual(res, [[1, '2024-01-31T00:00:00.000Z', '2024-01-31 13:45:07', '3.00:00:00']]);
});
