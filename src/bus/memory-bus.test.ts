import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMemoryBus } from './index.js';

test('each subscriber gets every event in publish order, and drain waits for them', async () => {
  const bus = createMemoryBus();
  const seen: string[] = [];
  bus.subscribe('incident.created', async (e) => { await new Promise((r) => setTimeout(r, 5)); seen.push(`a:${e.incidentId}`); }, { name: 'a' });
  bus.subscribe('incident.created', (e) => { seen.push(`b:${e.incidentId}`); }, { name: 'b' });
  await bus.publish('incident.created', { incidentId: '1' });
  await bus.publish('incident.created', { incidentId: '2' });
  assert.equal(bus.lag() > 0, true);
  await bus.drain();
  assert.equal(bus.lag(), 0);
  assert.deepEqual(seen.filter((s) => s.startsWith('a')), ['a:1', 'a:2']);
  assert.deepEqual(seen.filter((s) => s.startsWith('b')), ['b:1', 'b:2']);
});

test('a failing handler is reported and does not stop later events', async () => {
  const errors: string[] = [];
  const bus = createMemoryBus({ onHandlerError: (e, c) => errors.push(`${c.subscriber}:${(e as Error).message}`) });
  const seen: string[] = [];
  bus.subscribe('incident.created', (e) => {
    if (e.incidentId === 'bad') throw new Error('boom');
    seen.push(e.incidentId);
  }, { name: 'fragile' });
  await bus.publish('incident.created', { incidentId: 'bad' });
  await bus.publish('incident.created', { incidentId: 'good' });
  await bus.drain();
  assert.deepEqual(errors, ['fragile:boom']);
  assert.deepEqual(seen, ['good']);
});

test('events published by a handler are drained too', async () => {
  const bus = createMemoryBus();
  const seen: string[] = [];
  bus.subscribe('incident.created', async (e) => { await bus.publish('incident.updated', { incidentId: e.incidentId, changes: {} }); }, { name: 'chain' });
  bus.subscribe('incident.updated', (e) => { seen.push(e.incidentId); }, { name: 'end' });
  await bus.publish('incident.created', { incidentId: 'x' });
  await bus.drain();
  assert.deepEqual(seen, ['x']);
});
