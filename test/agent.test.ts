// End-to-end tests of `vigil agent` against a real platform: real files, real processes, real quarantine.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect as connectNet, createServer as createNetServer, type AddressInfo } from 'node:net';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAgent, type Agent, type AgentOptions } from '../src/agent/index.js';
import { startPlatform, type TestPlatform } from './helpers/platform.js';
import { enrollmentToken, finishAction, rowsOf, runAction, startFeedFront, waitFor, type FeedFront } from './agent-helpers.js';

const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';
const quiet = () => {};

function agentOptions(server: string, stateDir: string, watch: string, extra: Partial<AgentOptions> = {}): AgentOptions {
  return {
    server, stateDir, watchPaths: [watch], prevention: true, flushIntervalMs: 100, commandWaitSeconds: 2, feedWaitSeconds: 2,
    authLogs: [], log: quiet, ...extra,
  };
}

describe('agent telemetry, scanning and commands', () => {
  let tp: TestPlatform;
  let front: FeedFront;
  let agent: Agent;
  const work = mkdtempSync(join(tmpdir(), 'vigil-agent-test-'));
  const watch = join(work, 'home', 'alice', 'Downloads');
  const stateDir = join(work, 'state');

  before(async () => {
    mkdirSync(watch, { recursive: true });
    tp = await startPlatform();
    const token = await enrollmentToken(tp);
    // Enroll first (the identity is kept), then run through a front that serves the indicator feed by contract.
    const first = await createAgent(agentOptions(tp.url, stateDir, watch, { enrollToken: token, collect: { process: false, file: false, network: false, logon: false } }));
    const identity = first.identity;
    await first.close();
    front = await startFeedFront(tp.url, identity.sensorToken);
    // The identity names its server: run the front as that server for the rest of the suite.
    const saved = JSON.parse(readFileSync(join(stateDir, 'identity.json'), 'utf8'));
    writeFileSync(join(stateDir, 'identity.json'), JSON.stringify({ ...saved, server: front.url }), { mode: 0o600 });
    agent = await createAgent(agentOptions(front.url, stateDir, watch));
  });

  after(async () => {
    await agent?.close();
    await front?.close();
    await tp?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test('enrollment stores a device identity with mode 0600 and a 40-hex device id', () => {
    const file = join(stateDir, 'identity.json');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(stateDir).mode & 0o777, 0o700);
    const identity = JSON.parse(readFileSync(file, 'utf8'));
    assert.match(identity.deviceId, /^[0-9a-f]{40}$/);
    assert.equal(identity.method, 'enrollment');
    assert.equal(identity.publicKeyJwk.kty, 'EC');
    assert.equal(agent.identity.deviceId, identity.deviceId);
  });

  test('DeviceInfo is reported at start with OS, kernel and sensor health', async () => {
    const rows = await waitFor('DeviceInfo', async () => {
      // One from the enrollment run in before(), one from the running agent.
      const r = (await rowsOf(tp, 'DeviceInfo')).filter((x) => x.DeviceId === agent.identity.deviceId);
      return r.length >= 2 ? r : undefined;
    });
    const latest = rows[rows.length - 1];
    assert.equal(latest.OSPlatform, 'Linux');
    assert.equal(latest.OSBuild, readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim());
    assert.equal(latest.AdditionalFields.Health.ProcessSource, agent.processSource);
    assert.equal(latest.SensorHealthState, 'Active');
  });

  test('a file dropped in a watched folder becomes a DeviceFileEvents row with its hashes', async () => {
    const path = join(watch, 'report.txt');
    writeFileSync(path, 'quarterly numbers\n');
    const row = await waitFor('the file row', async () => (await rowsOf(tp, 'DeviceFileEvents')).find((r) => r.FolderPath === path));
    assert.equal(row.ActionType, 'FileCreated');
    assert.equal(row.FileName, 'report.txt');
    assert.equal(row.FileSize, 18);
    assert.equal(row.SHA256, '4c694ad7a5ea27610e73d5dca732d67b51100682543877a8a882584667371a9d');
    assert.equal(row.SHA1, '93a4563b244bfa1f303d0cc0f967554765b77e11');
    assert.equal(row.MD5, 'f2b6df39099bb4eb5d30e7e7fa0e8ba6');
    assert.equal(row.DeviceId, agent.identity.deviceId);
  });

  test('a file in a new sub-folder and a rename are both seen', async () => {
    const sub = join(watch, 'project');
    mkdirSync(sub);
    writeFileSync(join(sub, 'draft.txt'), 'v1');
    await waitFor('the file in the new folder', async () => (await rowsOf(tp, 'DeviceFileEvents')).find((r) => r.FolderPath === join(sub, 'draft.txt')));
    spawnSync('mv', [join(sub, 'draft.txt'), join(sub, 'final.txt')]);
    const row = await waitFor('the rename row', async () => (await rowsOf(tp, 'DeviceFileEvents')).find((r) => r.FolderPath === join(sub, 'final.txt')));
    assert.equal(row.ActionType, 'FileRenamed');
    assert.equal(row.PreviousFileName, 'draft.txt');
    assert.equal(row.PreviousFolderPath, join(sub, 'draft.txt'));
  });

  test('a started process becomes a DeviceProcessEvents row with its command line, user and parent', async () => {
    const child = spawn('/bin/sh', ['-c', 'sleep 1.3579; true'], { stdio: 'ignore' });
    const exited = new Promise((r) => child.on('exit', r));
    const row = await waitFor('the process row', async () => (await rowsOf(tp, 'DeviceProcessEvents')).find((r) => r.ProcessCommandLine === 'sleep 1.3579'));
    await exited;
    assert.equal(row.ActionType, 'ProcessCreated');
    assert.equal(row.FileName, 'sleep');
    assert.equal(row.AccountName, 'root');
    assert.equal(row.InitiatingProcessId, child.pid);
    assert.equal(row.InitiatingProcessCommandLine, '/bin/sh -c "sleep 1.3579; true"');
    assert.equal(row.InitiatingProcessParentId, process.pid);
    assert.match(row.SHA256, /^[0-9a-f]{64}$/);
    assert.equal(row.SHA256, spawnSync('sha256sum', [row.FolderPath], { encoding: 'utf8' }).stdout.split(' ')[0]);
  });

  test('a listener and a connection become DeviceNetworkEvents rows attributed to their process', async () => {
    const server = createNetServer((socket) => socket.on('error', () => {}));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const client = connectNet(port, '127.0.0.1');
    client.on('error', () => {});
    try {
      const listen = await waitFor('the listener row', async () => (await rowsOf(tp, 'DeviceNetworkEvents'))
        .find((r) => r.ActionType === 'ListeningConnectionCreated' && r.LocalPort === port));
      assert.equal(listen.Protocol, 'Tcp');
      assert.equal(listen.LocalIP, '127.0.0.1');
      assert.equal(listen.InitiatingProcessId, process.pid);
      const out = await waitFor('the connection row', async () => (await rowsOf(tp, 'DeviceNetworkEvents'))
        .find((r) => r.ActionType === 'ConnectionSuccess' && r.RemotePort === port));
      assert.equal(out.RemoteIP, '127.0.0.1');
      assert.equal(out.RemoteIPType, 'Loopback');
      assert.equal(out.InitiatingProcessId, process.pid);
    } finally {
      client.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  test('EICAR written to a watched folder is quarantined at once and reported as an AntivirusDetection', async () => {
    const path = join(watch, 'invoice.com');
    writeFileSync(path, EICAR);
    const row = await waitFor('the detection row', async () => (await rowsOf(tp, 'DeviceEvents')).find((r) => r.ActionType === 'AntivirusDetection' && r.FolderPath === path));
    assert.equal(existsSync(path), false);
    assert.equal(row.SHA256, '275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f');
    assert.equal(row.MD5, '44d88612fea8a8f36de82e1278abb02f');
    assert.deepEqual(row.AdditionalFields, { ThreatName: 'EICAR-Test-File', Engine: 'eicar', Action: 'quarantined', Severity: 'informational' });
    const store = join(stateDir, 'quarantine');
    assert.equal(statSync(store).mode & 0o777, 0o700);
    const meta = readdirSync(store).filter((n) => n.endsWith('.json')).map((n) => JSON.parse(readFileSync(join(store, n), 'utf8')));
    const item = meta.find((m) => m.originalPath === path);
    assert.ok(item, 'metadata names the original path');
    const blob = join(store, `${item.id}.bin`);
    assert.equal(statSync(blob).mode & 0o777, 0);
    assert.equal(readFileSync(blob).includes(Buffer.from('EICAR')), false, 'stored defanged, not in clear');
  });

  test('a block indicator delivered by the feed quarantines a new file with that hash', async () => {
    front.publish({
      id: 'ind-42', type: 'sha256', value: 'd0f1026bb6669e5b2a12c430afa4ab47622c63ecd14537b4ba69731e32651ca4', action: 'block',
      severity: 'high', title: 'Payload 42', expiresAt: null,
    });
    await waitFor('the agent to hold the indicator', () => agent.stats().indicators === 1, 10_000);
    const path = join(watch, 'payload.bin');
    const written = Date.now();
    writeFileSync(path, 'indicator payload 42\n');
    await waitFor('the file to be quarantined', () => !existsSync(path), 5_000, 10);
    const tookMs = Date.now() - written;
    const row = await waitFor('the detection row', async () => (await rowsOf(tp, 'DeviceEvents')).find((r) => r.FolderPath === path));
    assert.deepEqual(row.AdditionalFields, { ThreatName: 'Payload 42', Engine: 'indicator', Action: 'quarantined', IndicatorId: 'ind-42', Severity: 'high' });
    process.stdout.write(`# indicator block: quarantined ${tookMs} ms after the write\n`);
  });

  test('quarantine_file quarantines a file on command and its undo restores it', async () => {
    const path = join(work, 'suspicious.sh');
    writeFileSync(path, '#!/bin/sh\necho pwned\n', { mode: 0o750 });
    const sha256 = 'cebf25e0668376ce72d60cc05894de697b174396e5036fdb525363c351bf1f9b';
    const done = await runAction(tp, agent.identity.deviceId, 'quarantine_file', { path, sha256 });
    assert.equal(done.state, 'succeeded', JSON.stringify(done));
    assert.equal(existsSync(path), false);
    const undo = await tp.api(`/api/v1/actions/${done.id}/undo`, { method: 'POST', token: tp.adminToken });
    assert.equal(undo.status, 201, JSON.stringify(undo.body));
    const restored = await finishAction(tp, undo.body);
    assert.equal(restored.state, 'succeeded', JSON.stringify(restored));
    await waitFor('the file to come back', () => existsSync(path), 20_000);
    assert.equal(readFileSync(path, 'utf8'), '#!/bin/sh\necho pwned\n');
    assert.equal(statSync(path).mode & 0o777, 0o750);
  });

  test('stop_process kills the process it names', async () => {
    const child = spawn('sleep', ['300'], { stdio: 'ignore' });
    const exited = new Promise<string | null>((r) => child.on('exit', (_c, signal) => r(signal)));
    const done = await runAction(tp, agent.identity.deviceId, 'stop_process', { pid: child.pid });
    assert.equal(done.state, 'succeeded', JSON.stringify(done));
    assert.equal(await exited, 'SIGKILL');
  });

  test('remove_persistence refuses a path outside the autorun locations, with the reason', async () => {
    const done = await runAction(tp, agent.identity.deviceId, 'remove_persistence', { path: join(work, 'not-autorun.txt') });
    assert.equal(done.state, 'failed');
    assert.match(JSON.stringify(done), /not in an autorun location/);
  });

  test('collect_package uploads a tar.gz of processes, connections, users, autoruns, logs and temp listings', async () => {
    const marker = join(work, 'temp-marker.txt');
    writeFileSync(marker, 'x');
    const done = await runAction(tp, agent.identity.deviceId, 'collect_package', {}, 60_000);
    assert.equal(done.state, 'succeeded', JSON.stringify(done));
    assert.equal(done.files.length, 1);
    const download = await fetch(`${tp.url}/api/v1/response/files/${done.files[0].id}`, { headers: { authorization: `Bearer ${tp.adminToken}` } });
    assert.equal(download.status, 200);
    const tgz = join(work, 'package.tar.gz');
    writeFileSync(tgz, Buffer.from(await download.arrayBuffer()));
    const entries = spawnSync('tar', ['-tzf', tgz], { encoding: 'utf8' }).stdout.split('\n').map((e) => e.replace(/^\.\//, ''));
    for (const expected of ['processes.json', 'connections.json', 'users/passwd', 'autoruns/autoruns.json', 'temp-listings.json', 'manifest.json']) {
      assert.ok(entries.includes(expected), `${expected} in the package (${entries.join(', ')})`);
    }
    const out = join(work, 'unpacked');
    mkdirSync(out);
    spawnSync('tar', ['-xzf', tgz, '-C', out]);
    const processes = JSON.parse(readFileSync(join(out, 'processes.json'), 'utf8'));
    assert.ok(processes.some((p: { pid: number }) => p.pid === process.pid), 'the test process is listed');
    const temps = JSON.parse(readFileSync(join(out, 'temp-listings.json'), 'utf8'));
    assert.ok(Object.values(temps).flat().some((e: any) => e.path === marker), 'the marker file is in the temp listing');
    const passwd = readFileSync(join(out, 'users/passwd'), 'utf8');
    assert.match(passwd, /^root:/m);
  });

  test('finished command ids are persisted so a redelivered command is not run again', () => {
    const finished = JSON.parse(readFileSync(join(stateDir, 'finished-commands.json'), 'utf8')) as [string, { status: string }][];
    assert.ok(finished.length >= 4);
    assert.ok(finished.every(([id, r]) => typeof id === 'string' && (r.status === 'succeeded' || r.status === 'failed')));
  });
});

describe('agent resilience', () => {
  test('telemetry made while the server is down, across an agent restart, arrives once when it returns', async () => {
    const work = mkdtempSync(join(tmpdir(), 'vigil-agent-down-'));
    const watch = join(work, 'watched');
    const stateDir = join(work, 'state');
    mkdirSync(watch);
    let tp = await startPlatform();
    const port = Number(new URL(tp.url).port);
    const dataDir = tp.dataDir;
    const options = agentOptions(tp.url, stateDir, watch, { collect: { process: false, network: false, logon: false, file: true } });
    let agent = await createAgent({ ...options, enrollToken: await enrollmentToken(tp) });
    try {
      const deviceId = agent.identity.deviceId;
      writeFileSync(join(watch, 'before.txt'), 'before');
      await waitFor('the first row', async () => (await rowsOf(tp, 'DeviceFileEvents')).length === 1);
      await tp.stop(false);

      const names = Array.from({ length: 30 }, (_, i) => `offline-${i}.txt`);
      for (const n of names.slice(0, 15)) writeFileSync(join(watch, n), n);
      await waitFor('rows to be spooled', () => agent.stats().queue.spooledRows >= 15, 20_000);
      // The agent restarts while the server is still down: the spool and the ReportId counter persist.
      await agent.close();
      agent = await createAgent(options);
      assert.equal(agent.identity.deviceId, deviceId);
      for (const n of names.slice(15)) writeFileSync(join(watch, n), n);
      await waitFor('the rest to be spooled', () => agent.stats().queue.spooledRows >= 15, 20_000);

      tp = await startPlatform({ dataDir, config: { port } });
      const rows = await waitFor('every offline row', async () => {
        const r = (await rowsOf(tp, 'DeviceFileEvents')).filter((x) => x.FileName.startsWith('offline-'));
        return r.length >= 30 ? r : undefined;
      }, 60_000, 200);
      assert.deepEqual(rows.map((r) => r.FileName).sort(), [...names].sort());
      const ids = (await rowsOf(tp, 'DeviceFileEvents')).map((r) => r.ReportId);
      assert.equal(new Set(ids).size, ids.length, 'no duplicate ReportIds');
      const infos = (await rowsOf(tp, 'DeviceInfo')).filter((r) => r.DeviceId === deviceId);
      assert.equal(infos.length, 2, 'one DeviceInfo per start');
      assert.ok(infos[1].ReportId > Math.max(...ids.slice(0, 1)), 'ReportIds keep growing across restarts');
      assert.equal(agent.stats().queue.droppedRows, 0);
    } finally {
      await agent.close();
      await tp.stop();
      rmSync(work, { recursive: true, force: true });
    }
  });

  test('a full spool drops the oldest batches first and counts them', async () => {
    const work = mkdtempSync(join(tmpdir(), 'vigil-agent-spool-'));
    const watch = join(work, 'watched');
    mkdirSync(watch);
    // A server address nobody listens on: every batch goes to the spool, which holds about two batches.
    const agent = await createAgent({
      ...agentOptions('http://127.0.0.1:9', join(work, 'state'), watch, { collect: { process: false, network: false, logon: false, file: true } }),
      sensorToken: 'unused', maxSpoolBytes: 6000,
    });
    try {
      for (let i = 0; i < 40; i++) {
        writeFileSync(join(watch, `f${i}.txt`), `${i}`);
        await agent.settle();
        await agent.flush();
      }
      // 40 file rows and the DeviceInfo row are each either in the spool or counted as dropped (oldest first).
      const stats = await waitFor('every row to be accounted for', () => {
        const q = agent.stats().queue;
        return q.pendingRows === 0 && q.spoolRows + q.droppedRows === 41 ? agent.stats() : undefined;
      });
      assert.ok(stats.queue.droppedRows > 0, 'some rows dropped');
      assert.ok(stats.queue.spoolBytes <= 6000, `spool within its bound (${stats.queue.spoolBytes} bytes)`);
      const health = JSON.parse(readFileSync(join(work, 'state', 'health.json'), 'utf8'));
      assert.equal(health.droppedRows, stats.queue.droppedRows);
    } finally {
      await agent.close();
      rmSync(work, { recursive: true, force: true });
    }
  });
});

describe('agent with the platform intel module', () => {
  test('an indicator created on the platform reaches the agent through the feed, and detections become alerts', async (t) => {
    const work = mkdtempSync(join(tmpdir(), 'vigil-agent-intel-'));
    const watch = join(work, 'watched');
    mkdirSync(watch);
    const tp = await startPlatform();
    const alerts: { detectionSource: string; title: string }[] = [];
    tp.platform.bus.subscribe('alert.raised', (e) => { alerts.push({ detectionSource: e.alert.detectionSource, title: e.alert.title }); }, { name: 'agent-test' });
    let agent: Agent | undefined;
    try {
      const probe = await tp.api('/api/v1/indicators', { token: tp.adminToken });
      if (probe.status === 404) {
        t.skip('this platform has no intel routes yet (GET /api/v1/indicators is 404)');
        return;
      }
      agent = await createAgent({
        ...agentOptions(tp.url, join(work, 'state'), watch, { collect: { process: false, network: false, logon: false, file: true } }),
        enrollToken: await enrollmentToken(tp),
      });
      const created = await tp.api('/api/v1/indicators', {
        token: tp.adminToken,
        body: { type: 'sha256', value: 'd0f1026bb6669e5b2a12c430afa4ab47622c63ecd14537b4ba69731e32651ca4', action: 'block', severity: 'high', title: 'Payload 42' },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      await waitFor('the agent to hold the indicator', () => agent!.stats().indicators === 1, 10_000);
      const path = join(watch, 'payload.bin');
      writeFileSync(path, 'indicator payload 42\n');
      await waitFor('the file to be quarantined', () => !existsSync(path), 5_000, 10);
      const row = await waitFor('the detection row', async () => (await rowsOf(tp, 'DeviceEvents')).find((r) => r.FolderPath === path));
      assert.equal(row.AdditionalFields.IndicatorId, created.body.id);
      writeFileSync(join(watch, 'eicar.txt'), EICAR);
      await waitFor('an antivirus alert for EICAR', () => alerts.some((a) => a.detectionSource === 'antivirus'), 10_000);
      await waitFor('a customTi alert for the indicator', () => alerts.some((a) => a.detectionSource === 'customTi'), 10_000);
    } finally {
      await agent?.close();
      await tp.stop();
      rmSync(work, { recursive: true, force: true });
    }
  });
});

describe('agent logons', () => {
  test('an sshd sign-in appended to the auth log becomes a DeviceLogonEvents row', async () => {
    const work = mkdtempSync(join(tmpdir(), 'vigil-agent-logon-'));
    const authLog = join(work, 'auth.log');
    writeFileSync(authLog, '2026-11-28T08:00:00.000000+00:00 ws1 sshd[1]: Accepted password for old from 192.0.2.1 port 1 ssh2\n');
    const tp = await startPlatform();
    const agent = await createAgent({
      ...agentOptions(tp.url, join(work, 'state'), work, { collect: { process: false, network: false, file: false, logon: true }, authLogs: [authLog] }),
      enrollToken: await enrollmentToken(tp),
    });
    try {
      assert.equal(agent.logonSource, 'auth-log');
      appendFileSync(authLog, '2026-11-28T20:17:59.123456+00:00 ws1 sshd[812]: Accepted publickey for alice from 203.0.113.9 port 50522 ssh2: ED25519 SHA256:x\n');
      appendFileSync(authLog, '2026-11-28T20:18:03.000000+00:00 ws1 sshd[813]: Failed password for invalid user admin from 198.51.100.7 port 4242 ssh2\n');
      const rows = await waitFor('two logon rows', async () => {
        const r = await rowsOf(tp, 'DeviceLogonEvents');
        return r.length >= 2 ? r : undefined;
      });
      assert.deepEqual(rows.map((r) => [r.Timestamp, r.ActionType, r.AccountName, r.RemoteIP, r.LogonType, r.FailureReason]), [
        ['2026-11-28T20:17:59.123Z', 'LogonSuccess', 'alice', '203.0.113.9', 'Network', null],
        ['2026-11-28T20:18:03.000Z', 'LogonFailed', 'admin', '198.51.100.7', 'Network', 'UnknownUser'],
      ]);
    } finally {
      await agent.close();
      await tp.stop();
      rmSync(work, { recursive: true, force: true });
    }
  });
});
