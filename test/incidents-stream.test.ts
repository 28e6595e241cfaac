// The event stream on its own: heartbeats, and streams ended when the server closes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { createSqliteStore } from '../src/store/index.js';
import { createMemoryBus } from '../src/bus/index.js';
import { createIncidentService } from '../src/incidents/index.js';
import { registerIncidentRoutes } from '../src/api/routes/incidents.js';

test('an idle stream gets heartbeat comments and ends when the server closes', async () => {
  const store = await createSqliteStore({ file: ':memory:' });
  const bus = createMemoryBus();
  const incidents = await createIncidentService({ store, bus });
  const app = Fastify();
  app.decorateRequest('principal', undefined);
  registerIncidentRoutes(app, {
    incidents,
    heartbeatMs: 20,
    authenticate: async (token) => (token === 'good' ? { kind: 'user', id: 'u1', name: 'rita', role: 'reader' } : undefined),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  try {
    assert.equal((await fetch(`${url}/api/v1/stream?access_token=bad`)).status, 401);
    const response = await fetch(`${url}/api/v1/stream?access_token=good`);
    assert.equal(response.status, 200);
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    for (let i = 0; i < 100 && !text.includes(': heartbeat'); i++) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
    assert.match(text, /^retry: 3000\n: connected\n\n/);
    assert.match(text, /: heartbeat\n\n/);
    await app.close(); // must not wait for the open stream
    let ended = false;
    for (let i = 0; i < 100; i++) {
      const { done } = await reader.read();
      if (done) { ended = true; break; }
    }
    assert.equal(ended, true);
  } finally {
    await app.close();
    await incidents.stop();
    await bus.close();
    await store.close();
  }
});
