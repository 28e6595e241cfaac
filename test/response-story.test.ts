// The response part of the story, end to end on a real platform: an antivirus detection becomes an alert,
// the investigation finds the file on another device of a Full-automation group, both devices quarantine it
// over the command channel, and the remediated alert is resolved in incidents.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPlatform, type TestPlatform } from './helpers/platform.js';

const EVIL = '5'.repeat(64);
let tp: TestPlatform;
before(async () => {
  tp = await startPlatform();
});
after(async () => {
  await tp.stop();
});

async function enroll(group: string, hostname: string) {
  const { body: { token } } = await tp.api('/api/v1/enrollment-tokens', { token: tp.adminToken, body: { name: hostname, deviceGroup: group } });
  const enrolled = await tp.api('/api/v1/enroll', { body: { token, hostname, os: 'Linux', osVersion: '6.8' } });
  assert.equal(enrolled.status, 201);
  return { deviceId: enrolled.body.deviceId as string, token: enrolled.body.sensorToken as string };
}

test('an antivirus detection is investigated, remediated fleet-wide under Full automation, and its alert resolved', async () => {
  const group = await tp.api('/api/v1/device-groups', { token: tp.adminToken, body: { name: 'full-auto', automationLevel: 'full' } });
  assert.equal(group.status, 201);
  const victim = await enroll(group.body.id, 'ws-victim');
  const other = await enroll(group.body.id, 'ws-other');
  await tp.platform.bus.drain();
  assert.equal(await tp.platform.posture.automationLevelOf(victim.deviceId), 'full');

  const ts = new Date().toISOString();
  for (const [i, d] of [victim, other].entries()) {
    const ingested = await tp.api('/api/v1/ingest/DeviceFileEvents', {
      token: d.token,
      body: [{ Timestamp: ts, DeviceId: d.deviceId, DeviceName: `host-${i}`, ActionType: 'FileCreated', FileName: 'invoice.elf', FolderPath: `/home/u${i}/Downloads/invoice.elf`, SHA256: EVIL, ReportId: 1 }],
    });
    assert.equal(ingested.status, 200, JSON.stringify(ingested.body));
  }
  const detection = await tp.api('/api/v1/ingest/DeviceEvents', {
    token: victim.token,
    body: [{
      Timestamp: ts, DeviceId: victim.deviceId, DeviceName: 'host-0', ActionType: 'AntivirusDetection', FileName: 'invoice.elf',
      FolderPath: '/home/u0/Downloads/invoice.elf', SHA256: EVIL, AdditionalFields: { ThreatName: 'Linux.Trojan.Test', Engine: 'yara', Action: 'detected' }, ReportId: 2,
    }],
  });
  assert.equal(detection.status, 200, JSON.stringify(detection.body));
  await tp.platform.bus.drain();

  const list = await tp.api('/api/v1/investigations', { token: tp.adminToken });
  assert.equal(list.body.investigations.length, 1);
  const investigation = list.body.investigations[0];
  assert.deepEqual(investigation.actions.map((a: any) => `${a.kind} ${a.target} ${a.state}`).sort(),
    [`quarantine_file ${other.deviceId} dispatched`, `quarantine_file ${victim.deviceId} dispatched`].sort());

  for (const d of [victim, other]) {
    const { body } = await tp.api('/api/v1/agent/commands?wait=2', { token: d.token });
    assert.deepEqual(body.commands.map((c: any) => c.kind), ['quarantine_file']);
    const done = await tp.api(`/api/v1/agent/commands/${body.commands[0].id}/result`, { token: d.token, body: { status: 'succeeded', message: 'quarantined' } });
    assert.equal(done.status, 200);
  }
  await tp.platform.bus.drain();

  const finished = await tp.api(`/api/v1/investigations/${investigation.id}`, { token: tp.adminToken });
  assert.equal(finished.body.status, 'remediated');
  assert.equal(finished.body.alertsResolved, true);
  const [alertId] = finished.body.alertIds;
  const alert = await tp.platform.incidents.getAlert(alertId);
  assert.equal(alert?.status, 'resolved');
  // The investigation shows on the alert's incident.
  const byIncident = await tp.api(`/api/v1/investigations?incidentId=${alert?.incidentId}`, { token: tp.adminToken });
  assert.deepEqual(byIncident.body.investigations.map((i: any) => i.id), [investigation.id]);
});
