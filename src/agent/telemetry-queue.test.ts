// Unit tests of the agent's telemetry queue against a recording stand-in for the platform: the tables of a
// round go out side by side (one post per table), slow rows go out within a fraction of a second, a steady stream waits for the next round, and what the
// platform did not take is spooled and delivered once it answers again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeliveryError, type PlatformClient } from './platform-client.js';
import { createTelemetryQueue } from './telemetry-queue.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function recordingClient() {
  const posts: { table: string; ids: unknown[] }[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let down = false;
  const client: PlatformClient = {
    serverUrl: 'http://127.0.0.1:9',
    async ingest(table, rows) {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        await sleep(20);
        if (down) throw new DeliveryError(`ingest ${table}: connect ECONNREFUSED`);
        posts.push({ table, ids: rows.map((r) => r.ReportId) });
        return { accepted: rows.length, duplicates: 0, rejected: [] };
      } finally {
        inFlight--;
      }
    },
    request: () => Promise.reject(new Error('not used')),
    setToken() {},
    close() {},
  };
  return { client, posts, maxInFlight: () => maxInFlight, setDown: (d: boolean) => { down = d; } };
}

test('the tables of a round are posted side by side, one post per table, each in order', async () => {
  const spoolDir = mkdtempSync(join(tmpdir(), 'vigil-queue-'));
  const platform = recordingClient();
  const queue = await createTelemetryQueue({ client: platform.client, spoolDir, flushIntervalMs: 60_000, sendGapMs: 60_000 });
  try {
    for (let i = 1; i <= 5; i++) queue.push(i % 2 ? 'DeviceFileEvents' : 'DeviceProcessEvents', { ReportId: i });
    await queue.flush();
    assert.deepEqual(platform.posts.sort((a, b) => a.table.localeCompare(b.table)), [
      { table: 'DeviceFileEvents', ids: [1, 3, 5] },
      { table: 'DeviceProcessEvents', ids: [2, 4] },
    ]);
    assert.equal(platform.maxInFlight(), 2);
    assert.equal(queue.stats().sentRows, 5);
  } finally {
    await queue.close();
    rmSync(spoolDir, { recursive: true, force: true });
  }
});

test('slow rows go out within the quick gap; rows of a steady stream wait for the next round', async () => {
  const spoolDir = mkdtempSync(join(tmpdir(), 'vigil-queue-'));
  const platform = recordingClient();
  const queue = await createTelemetryQueue({
    client: platform.client, spoolDir, flushIntervalMs: 60_000, sendGapMs: 60_000, quickGapMs: 100, steadyRowsPerSecond: 50,
  });
  const sent = async (n: number) => { for (let i = 0; i < 200 && platform.posts.length < n; i++) await sleep(10); return platform.posts.length; };
  try {
    // After a quiet spell: the first row goes by itself, the next ones a quick gap later.
    queue.push('DeviceFileEvents', { ReportId: 1 });
    assert.equal(await sent(1), 1);
    queue.push('DeviceFileEvents', { ReportId: 2 });
    queue.push('DeviceFileEvents', { ReportId: 3 });
    assert.equal(await sent(2), 2, 'slow rows go out within the quick gap');
    assert.deepEqual(platform.posts[1], { table: 'DeviceFileEvents', ids: [2, 3] });
    // A steady stream: 40 rows within the quick gap (well over 50 rows/s) make the next round wait sendGapMs.
    for (let i = 4; i < 44; i++) queue.push('DeviceFileEvents', { ReportId: i });
    assert.equal(await sent(3), 3);
    queue.push('DeviceFileEvents', { ReportId: 44 });
    await sleep(400);
    assert.equal(platform.posts.length, 3, 'the next round of a steady stream is not due yet');
    assert.equal(queue.stats().pendingRows, 1);
    await queue.flush();
    assert.deepEqual(platform.posts[3], { table: 'DeviceFileEvents', ids: [44] });
  } finally {
    await queue.close();
    rmSync(spoolDir, { recursive: true, force: true });
  }
});

test('rows the platform did not take are spooled, then delivered in order once it answers', async () => {
  const spoolDir = mkdtempSync(join(tmpdir(), 'vigil-queue-'));
  const platform = recordingClient();
  const queue = await createTelemetryQueue({ client: platform.client, spoolDir, flushIntervalMs: 60_000, sendGapMs: 60_000 });
  try {
    platform.setDown(true);
    queue.push('DeviceFileEvents', { ReportId: 1 });
    queue.push('DeviceProcessEvents', { ReportId: 2 });
    await queue.flush();
    assert.equal(queue.stats().connected, false);
    assert.equal(queue.stats().spoolRows, 2);
    platform.setDown(false);
    for (let i = 0; i < 100 && queue.stats().spoolRows > 0; i++) { await sleep(50); await queue.flush(); } // the retry is due after 1 s
    assert.equal(queue.stats().spoolRows, 0);
    assert.deepEqual(platform.posts.map((p) => p.ids).sort(), [[1], [2]]);
    assert.equal(queue.stats().sentRows, 2);
  } finally {
    await queue.close();
    rmSync(spoolDir, { recursive: true, force: true });
  }
});
