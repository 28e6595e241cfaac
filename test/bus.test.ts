// The bus contract, run against both implementations: in-memory (embedded) and NATS JetStream (distributed).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createMemoryBus, createNatsBus, type Bus, type BusOptions } from '../src/bus/index.js';
import { findNatsServer, startNatsServer, type NatsServer } from './helpers/nats.js';
import { connect } from '@nats-io/transport-node';
import { AckPolicy, jetstreamManager } from '@nats-io/jetstream';

function contract(makeBus: (options?: BusOptions) => Promise<Bus>) {
  test('each subscriber gets every event in publish order, and drain waits for them', async () => {
    const bus = await makeBus();
    try {
      const seen: string[] = [];
      bus.subscribe('incident.created', async (e) => { await new Promise((r) => setTimeout(r, 5)); seen.push(`a:${e.incidentId}`); }, { name: 'a' });
      bus.subscribe('incident.created', (e) => { seen.push(`b:${e.incidentId}`); }, { name: 'b' });
      for (const id of ['1', '2', '3']) await bus.publish('incident.created', { incidentId: id });
      await bus.drain();
      assert.equal(bus.lag(), 0);
      assert.deepEqual(seen.filter((s) => s.startsWith('a')), ['a:1', 'a:2', 'a:3']);
      assert.deepEqual(seen.filter((s) => s.startsWith('b')), ['b:1', 'b:2', 'b:3']);
    } finally {
      await bus.close();
    }
  });

  test('a failing handler is reported and does not stop later events', async () => {
    const errors: string[] = [];
    const bus = await makeBus({ onHandlerError: (e, c) => errors.push(`${c.type}/${c.subscriber}:${(e as Error).message}`) });
    try {
      const seen: string[] = [];
      bus.subscribe('incident.created', (e) => {
        if (e.incidentId === 'bad') throw new Error('boom');
        seen.push(e.incidentId);
      }, { name: 'fragile' });
      await bus.publish('incident.created', { incidentId: 'bad' });
      await bus.publish('incident.created', { incidentId: 'good' });
      await bus.drain();
      assert.deepEqual(errors, ['incident.created/fragile:boom']);
      assert.deepEqual(seen, ['good']);
    } finally {
      await bus.close();
    }
  });

  test('events published by a handler are drained too', async () => {
    const bus = await makeBus();
    try {
      const seen: string[] = [];
      bus.subscribe('incident.created', async (e) => { await bus.publish('incident.updated', { incidentId: e.incidentId, changes: { n: 1 } }); }, { name: 'chain' });
      bus.subscribe('incident.updated', (e) => { seen.push(`${e.incidentId}:${JSON.stringify(e.changes)}`); }, { name: 'end' });
      await bus.publish('incident.created', { incidentId: 'x' });
      await bus.drain();
      assert.deepEqual(seen, ['x:{"n":1}']);
    } finally {
      await bus.close();
    }
  });

  test('an unsubscribed handler gets nothing more; other types go to their own subscribers only', async () => {
    const bus = await makeBus();
    try {
      const seen: string[] = [];
      const stop = bus.subscribe('device.risk-changed', (e) => { seen.push(`risk:${e.deviceId}`); }, { name: 'risk' });
      bus.subscribe('incident.created', (e) => { seen.push(`incident:${e.incidentId}`); }, { name: 'incidents' });
      await bus.publish('device.risk-changed', { deviceId: 'd1', old: 'none', new: 'high', reason: 'r' });
      await bus.drain();
      stop();
      await bus.publish('device.risk-changed', { deviceId: 'd2', old: 'high', new: 'none', reason: 'r' });
      await bus.publish('incident.created', { incidentId: 'i1' });
      await bus.drain();
      assert.deepEqual(seen, ['risk:d1', 'incident:i1']);
    } finally {
      await bus.close();
    }
  });
}

describe('in-memory bus', () => {
  contract(async (options) => createMemoryBus(options));

  test('lag counts events accepted and not yet handled', async () => {
    const bus = createMemoryBus();
    bus.subscribe('incident.created', async () => { await new Promise((r) => setTimeout(r, 5)); }, { name: 'slow' });
    await bus.publish('incident.created', { incidentId: '1' });
    await bus.publish('incident.created', { incidentId: '2' });
    assert.equal(bus.lag() > 0, true);
    await bus.close();
    assert.equal(bus.lag(), 0);
  });
});

const natsBinary = findNatsServer();
describe('NATS JetStream bus', { skip: !natsBinary && 'nats-server is not installed (Debian: apt-get install nats-server); skipping the distributed bus' }, () => {
  let server: NatsServer;
  let streams = 0;
  before(async () => { server = await startNatsServer(natsBinary!); });
  after(async () => { await server?.stop(); });
  // Each test its own stream, so durable consumers of one test do not see another's events.
  const natsBus = (options: BusOptions = {}, stream = `T${++streams}`) => createNatsBus({ ...options, servers: server.url, stream });

  contract((options) => natsBus(options));

  test('a subscriber that was down handles what was published meanwhile, once, in order', async () => {
    const seen: string[] = [];
    const first = await natsBus({}, 'DURABLE');
    first.subscribe('incident.created', (e) => { seen.push(`first:${e.incidentId}`); }, { name: 'worker' });
    await first.publish('incident.created', { incidentId: '1' });
    await first.close();

    const publisher = await natsBus({}, 'DURABLE');
    for (const id of ['2', '3', '4']) await publisher.publish('incident.created', { incidentId: id });
    await publisher.close();

    const second = await natsBus({}, 'DURABLE');
    second.subscribe('incident.created', (e) => { seen.push(`second:${e.incidentId}`); }, { name: 'worker' });
    await second.drain();
    await second.close();
    assert.deepEqual(seen, ['first:1', 'second:2', 'second:3', 'second:4']);
  });

  test('events survive a restart of the NATS server', async () => {
    const bus = await natsBus({}, 'RESTART');
    const seen: string[] = [];
    bus.subscribe('incident.created', (e) => { seen.push(e.incidentId); }, { name: 'worker' });
    await bus.drain();
    await bus.close();
    const publisher = await natsBus({}, 'RESTART');
    await publisher.publish('incident.created', { incidentId: 'kept' });
    await publisher.close();
    await server.stop(true);
    await server.restart();
    const again = await natsBus({}, 'RESTART');
    again.subscribe('incident.created', (e) => { seen.push(e.incidentId); }, { name: 'worker' });
    await again.drain();
    await again.close();
    assert.deepEqual(seen, ['kept']);
  });

  test('a durable consumer left with another configuration (an older version) is made again', async () => {
    const bus = await natsBus({}, 'OLDCFG');
    const nc = await connect({ servers: server.url });
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.consumers.add('OLDCFG', { durable_name: 'worker--incident_created', filter_subject: 'oldcfg.incident.updated', ack_policy: AckPolicy.Explicit });
      const seen: string[] = [];
      bus.subscribe('incident.created', (e) => { seen.push(e.incidentId); }, { name: 'worker' });
      await bus.publish('incident.created', { incidentId: 'after-upgrade' });
      await bus.drain();
      assert.deepEqual(seen, ['after-upgrade']);
    } finally {
      await nc.close();
      await bus.close();
    }
  });

  test('telemetry larger than the server takes in one message arrives split, every row once', async () => {
    const bus = await natsBus();
    try {
      const rows: Record<string, unknown>[] = [];
      bus.subscribe('telemetry.ingested', (e) => { assert.equal(e.table, 'DeviceProcessEvents'); rows.push(...e.rows); }, { name: 'detector' });
      const sent = Array.from({ length: 6000 }, (_, i) => ({ ReportId: i, ProcessCommandLine: `cmd.exe /c echo ${'x'.repeat(200)} ${i}` }));
      await bus.publish('telemetry.ingested', { table: 'DeviceProcessEvents', sensorId: 's1', rows: sent });
      await bus.drain();
      assert.equal(rows.length, sent.length);
      assert.deepEqual(rows.map((r) => r.ReportId), sent.map((r) => r.ReportId));
    } finally {
      await bus.close();
    }
  });

  test('an unreachable server is a clear error', async () => {
    await assert.rejects(createNatsBus({ servers: 'nats://127.0.0.1:1' }), /CONNECTION_REFUSED|ECONNREFUSED|connection refused/i);
  });
});
