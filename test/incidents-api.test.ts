// End-to-end: the incidents API on a real server (127.0.0.1, port 0).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPlatform, type TestPlatform } from './helpers/platform.js';
import type { Evidence, RaisedAlert } from '../src/schema/index.js';

const T0 = Date.parse('2026-11-28T10:00:00.000Z');
let seq = 0;
function alert(evidence: Evidence[], over: Partial<RaisedAlert> = {}): RaisedAlert {
  seq++;
  const at = new Date(T0 + seq * 1000).toISOString();
  return {
    alertId: `api-${seq}`, title: `Suspicious thing ${seq}`, description: 'd', severity: 'medium', category: 'Execution',
    detectionSource: 'sigma', serviceSource: 'vigil', mitreTechniques: ['T1059'], tactics: ['execution'],
    rule: { id: `r-${seq}`, title: 'R', author: 'Florian Roth', source: 'sigma' },
    firstActivity: at, lastActivity: at, evidence, events: [], dedupKey: `api-dk-${seq}`, ...over,
  };
}
const device = (id: string): Evidence => ({ kind: 'device', key: id, label: id, role: 'Impacted' });

describe('incidents API', () => {
  let t: TestPlatform;
  let reader: string;
  let analyst: string;

  async function userToken(username: string, role: string) {
    const password = `${username} long enough password 1`;
    const created = await t.api('/api/v1/users', { token: t.adminToken, body: { username, password, role } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const login = await t.api('/api/v1/auth/login', { body: { username, password } });
    return login.body.token as string;
  }

  async function raise(...alerts: RaisedAlert[]) {
    for (const a of alerts) await t.platform.bus.publish('alert.raised', { alert: a });
    await t.platform.bus.drain();
  }

  before(async () => {
    t = await startPlatform();
    reader = await userToken('rita', 'reader');
    analyst = await userToken('andy', 'analyst');
  });
  after(() => t.stop());

  test('lists incidents and alerts with filters and cursor pagination; the rule author is kept', async () => {
    await raise(alert([device('api-dev-1')], { severity: 'high' }), alert([device('api-dev-2')], { severity: 'low' }), alert([device('api-dev-3')]));
    const all = await t.api('/api/v1/incidents?deviceId=api-dev-1', { token: reader });
    assert.equal(all.status, 200);
    assert.equal(all.body.items.length, 1);
    assert.equal(all.body.items[0].severity, 'high');
    const page1 = await t.api('/api/v1/alerts?limit=2&sort=-severity', { token: reader });
    assert.equal(page1.body.items.length, 2);
    assert.deepEqual(page1.body.items.map((a: any) => a.severity), ['high', 'medium']);
    assert.equal(page1.body.items[0].rule.author, 'Florian Roth');
    const page2 = await t.api(`/api/v1/alerts?limit=2&sort=-severity&cursor=${page1.body.nextCursor}`, { token: reader });
    assert.deepEqual(page2.body.items.map((a: any) => a.severity), ['low']);
    assert.equal(page2.body.nextCursor, null);
    const bad = await t.api('/api/v1/alerts?severity=extreme', { token: reader });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error, 'bad_request');
  });

  test('readers may not change incidents; analysts may; only admins manage suppression', async () => {
    await raise(alert([device('api-dev-9')]));
    const [inc] = (await t.api('/api/v1/incidents?deviceId=api-dev-9', { token: reader })).body.items;
    const denied = await t.api(`/api/v1/incidents/${inc.id}`, { method: 'PATCH', token: reader, body: { status: 'inProgress' } });
    assert.equal(denied.status, 403);
    assert.equal(denied.body.error, 'forbidden');
    const ok = await t.api(`/api/v1/incidents/${inc.id}`, { method: 'PATCH', token: analyst, body: { status: 'inProgress', assignee: 'andy', determination: 'notMalicious', classification: 'falsePositive' } });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.status, 'inProgress');
    assert.equal(ok.body.assignedTo, 'andy');
    assert.equal(ok.body.determination, 'clean');
    const mine = await t.api('/api/v1/incidents?assignee=me', { token: analyst });
    assert.deepEqual(mine.body.items.map((i: any) => i.id), [inc.id]);
    const comment = await t.api(`/api/v1/incidents/${inc.id}/comments`, { token: analyst, body: { text: 'checked with the owner' } });
    assert.equal(comment.status, 201);
    assert.equal(comment.body.author, 'andy');
    const noRule = await t.api('/api/v1/suppression-rules', { token: analyst, body: { ruleId: 'r-1' } });
    assert.equal(noRule.status, 403);
    const rule = await t.api('/api/v1/suppression-rules', { token: t.adminToken, body: { ruleId: 'noisy', comment: 'known job', expiresAt: '2099-01-01T00:00:00Z' } });
    assert.equal(rule.status, 201);
    assert.equal(rule.body.createdBy, 'admin');
    assert.equal(rule.body.expiresAt, '2099-01-01T00:00:00.000Z');
    const listed = await t.api('/api/v1/suppression-rules', { token: reader });
    assert.equal(listed.body.items.length, 1);
    const deleted = await t.api(`/api/v1/suppression-rules/${rule.body.id}`, { method: 'DELETE', token: t.adminToken });
    assert.equal(deleted.status, 204);
    const missing = await t.api('/api/v1/incidents/nope', { token: reader });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error, 'not_found');
  });

  test('a merged incident id returns the target with redirectedFrom', async () => {
    await raise(alert([device('api-m-1')]), alert([device('api-m-2')]));
    const a = (await t.api('/api/v1/incidents?deviceId=api-m-1', { token: reader })).body.items[0];
    const b = (await t.api('/api/v1/incidents?deviceId=api-m-2', { token: reader })).body.items[0];
    const merged = await t.api(`/api/v1/incidents/${a.id}/merge`, { token: analyst, body: { sourceIds: [b.id] } });
    assert.equal(merged.status, 200);
    assert.equal(merged.body.alerts.length, 2);
    const viaB = await t.api(`/api/v1/incidents/${b.id}`, { token: reader });
    assert.equal(viaB.body.id, a.id);
    assert.equal(viaB.body.redirectedFrom, b.id);
    const again = await t.api(`/api/v1/incidents/${a.id}/merge`, { token: analyst, body: { sourceIds: [b.id] } });
    assert.equal(again.status, 400); // b now resolves to a itself
  });

  test('the event stream needs a token and pushes incident, alert and risk changes', async () => {
    const refused = await fetch(`${t.url}/api/v1/stream`);
    assert.equal(refused.status, 401);
    const controller = new AbortController();
    const response = await fetch(`${t.url}/api/v1/stream?access_token=${reader}`, { signal: controller.signal });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
    const reader$ = response.body!.getReader();
    await raise(alert([device('api-sse-1')], { severity: 'high' }));
    let text = '';
    const decoder = new TextDecoder();
    for (let i = 0; i < 50 && !(text.includes('event: device.risk-changed') && text.includes('event: incident.created')); i++) {
      const { value, done } = await reader$.read();
      if (done) break;
      text += decoder.decode(value);
    }
    controller.abort();
    assert.match(text, /event: incident\.created/);
    assert.match(text, /event: alert\.updated/);
    assert.match(text, /event: device\.risk-changed\ndata: \{"deviceId":"api-sse-1","old":"none","new":"high"/);
    const risky = await t.api('/api/v1/risk/devices?minLevel=high', { token: reader });
    assert.ok(risky.body.items.some((d: any) => d.id === 'api-sse-1' && d.riskLevel === 'high'));
  });
});
