// The console's pure logic, without a browser: CSV export, the attack story graph and its layout,
// KQL highlighting and completion from the schema, and the process tree.
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { CONSOLE_SECTIONS } from '../src/api/static.js';
import assert from 'node:assert/strict';
import { toCsv } from '../console/src/format.js';
import { layout } from '../console/src/graph-layout.js';
import { storyGraph } from '../console/src/graph-model.js';
import { suggest, tokenize } from '../console/src/kql-complete.js';
import { buildTree } from '../console/src/process-tree.js';
import type { IncidentDetail } from '../console/src/model.js';

test('CSV export quotes separators and defuses spreadsheet formulas', () => {
  assert.equal(
    toCsv(['a', 'b'], [['=HYPERLINK("http://x")', 'x,y'], ['-2+3', 'plain'], [null, { k: 1 }]]),
    'a,b\r\n"\'=HYPERLINK(""http://x"")","x,y"\r\n\'-2+3,plain\r\n,"{""k"":1}"\r\n',
  );
});

test('the story graph links each alert\'s device to its other entities and a process to its image file', () => {
  const incident = {
    id: 'i1', displayName: 'x', status: 'active', severity: 'high',
    entities: [
      { kind: 'device', key: 'd1', label: 'ws-1' }, { kind: 'user', key: 'alice', label: 'alice' },
      { kind: 'file', key: 'ab'.repeat(32), label: 'evil.sh' }, { kind: 'process', key: 'd1:42', label: 'evil.sh' },
    ],
    alerts: [{
      id: 'a1', title: 'Malware', status: 'new', severity: 'high',
      evidence: [
        { kind: 'user', key: 'alice', label: 'alice', role: 'Impacted' },
        { kind: 'device', key: 'd1', label: 'ws-1', role: 'Impacted' },
        { kind: 'file', key: 'ab'.repeat(32), label: 'evil.sh', role: 'Related' },
        { kind: 'process', key: 'd1:42', label: 'evil.sh', role: 'Related', details: { sha256: 'AB'.repeat(32) } },
      ],
    }],
  } as IncidentDetail;
  const graph = storyGraph(incident);
  assert.deepEqual(graph.nodes.map((n) => n.id).sort(), [`device:d1`, `file:${'ab'.repeat(32)}`, 'process:d1:42', 'user:alice']);
  assert.deepEqual(graph.edges.map((e) => `${e.from} -> ${e.to} (${e.label})`).sort(), [
    `device:d1 -> file:${'ab'.repeat(32)} (Malware)`,
    'device:d1 -> process:d1:42 (Malware)',
    'device:d1 -> user:alice (Malware)',
    `process:d1:42 -> file:${'ab'.repeat(32)} (image)`,
  ]);
});

test('the layout is deterministic and keeps every node inside the box', () => {
  const nodes = Array.from({ length: 30 }, (_, i) => ({ id: `n${i}`, kind: 'file', label: `n${i}` }));
  const edges = nodes.slice(1).map((n, i) => ({ from: `n${i % 5}`, to: n.id, label: '' }));
  const first = layout(nodes, edges, 800, 500);
  const second = layout(nodes, edges, 800, 500);
  assert.deepEqual([...first], [...second]);
  for (const p of first.values()) {
    assert.ok(p.x >= 60 && p.x <= 740 && p.y >= 60 && p.y <= 440, `inside: ${p.x},${p.y}`);
  }
  const distinct = new Set([...first.values()].map((p) => `${Math.round(p.x)},${Math.round(p.y)}`));
  assert.equal(distinct.size, 30, 'no two nodes on the same spot');
});

test('KQL tokens mark tables, columns, keywords, functions, strings and comments', () => {
  const tokens = tokenize('DeviceProcessEvents | where FileName == "a|b" and Timestamp > ago(1d) // recent')
    .filter((t) => t.cls).map((t) => `${t.cls}:${t.text}`);
  assert.deepEqual(tokens, [
    'tok-table:DeviceProcessEvents', 'tok-op:|', 'tok-kw:where', 'tok-col:FileName', 'tok-op:=', 'tok-op:=', 'tok-str:"a|b"',
    'tok-kw:and', 'tok-col:Timestamp', 'tok-op:>', 'tok-fn:ago', 'tok-op:(', 'tok-num:1d', 'tok-op:)', 'tok-comment:// recent',
  ]);
});

test('completion offers tables first, operators after a pipe and the used table\'s columns in expressions', () => {
  assert.deepEqual(suggest('DeviceNetworkEv', 15).items.map((i) => i.label), ['DeviceNetworkEvents']);
  assert.deepEqual(suggest('DeviceEvents\n| ta', 17).items.map((i) => i.label), ['take']);
  const columns = suggest('DeviceNetworkEvents | where RemoteP', 35);
  assert.equal(columns.from, 28);
  assert.deepEqual(columns.items.map((i) => `${i.label}:${i.detail}`), ['RemotePort:int']);
});

test('the process tree nests a process under its parent and grandparent', () => {
  const roots = buildTree([
    { ProcessId: 42, FileName: 'evil.sh', ProcessCommandLine: '<img src=x>', InitiatingProcessId: 7, InitiatingProcessFileName: 'bash', InitiatingProcessParentId: 1, InitiatingProcessParentFileName: 'systemd' },
    { ProcessId: 43, FileName: 'curl', InitiatingProcessId: 42, InitiatingProcessFileName: 'evil.sh' },
  ]);
  const shape = (p: { name: string; pid: string; children: unknown[] }): unknown => [`${p.name}(${p.pid})`, ...(p.children as typeof p[]).map(shape)];
  assert.deepEqual(roots.map(shape), [['systemd(1)', ['bash(7)', ['evil.sh(42)', ['curl(43)']]]]]);
  assert.equal(roots[0].children[0].children[0].cmd, '<img src=x>');
});

test('the server answers every console page the console routes to', () => {
  const app = readFileSync(new URL('../console/src/App.tsx', import.meta.url), 'utf8');
  const sections = [...new Set([...app.matchAll(/path: '\/([a-z-]*)/g)].map((m) => m[1]).filter(Boolean))].sort();
  assert.deepEqual(sections, [...CONSOLE_SECTIONS].sort());
});
