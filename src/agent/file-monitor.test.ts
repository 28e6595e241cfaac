// Unit tests of the agent's file pipeline: the file monitor (settling, created / modified / renamed, the
// agent's own files left out, a stream of new files each reported once), the small-file hashing that reads
// a file with the lstat just taken, and the ISO timestamps of telemetry rows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, lstatSync, mkdirSync, mkdtempSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileMonitor, type FileEvent } from './file-monitor.js';
import { hashFile, hashSmallFileSync } from './hashes.js';
import { createIsoClock } from './iso-time.js';

const HELLO = 'hello vigil\n';
const HELLO_SHA256 = '27ebdf3f6eadcfc988e81de38997c61101626be7706b525e079ee04274f93dfe';
const HELLO_SHA1 = '0c0e20776e0d34f322ca3c0679762345d40f519c';
const HELLO_MD5 = '406384d323dd9e74c3577d11722bf8cb';
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits (bounded: about 5 s) until `events` has at least n entries, then until the monitor is idle. */
async function waitFor(events: FileEvent[], n: number, monitor: { idle(): Promise<void> }) {
  for (let i = 0; i < 100 && events.length < n; i++) await sleep(50);
  await monitor.idle();
}

function withMonitor(fn: (dir: string, events: FileEvent[], monitor: ReturnType<typeof createFileMonitor>) => Promise<void>, exclude: (dir: string) => string[] = () => []) {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-filemon-'));
    const events: FileEvent[] = [];
    const monitor = createFileMonitor({ paths: [dir], exclude: exclude(dir), onEvent: (e) => { events.push(e); } });
    try {
      await sleep(100); // the watch is set up
      await fn(dir, events, monitor);
    } finally {
      monitor.close();
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

test('a file written in several steps within the settle time is one FileCreated event with the hashes of all of it', withMonitor(async (dir, events, monitor) => {
  const path = join(dir, 'hello.txt');
  writeFileSync(path, 'hello ');
  appendFileSync(path, 'vigil\n');
  await waitFor(events, 1, monitor);
  await sleep(300); // nothing more comes
  assert.equal(events.length, 1);
  assert.equal(events[0].action, 'FileCreated');
  assert.equal(events[0].path, path);
  assert.equal(events[0].hashes?.sha256, HELLO_SHA256);
  assert.equal(events[0].hashes?.sha1, HELLO_SHA1);
  assert.equal(events[0].hashes?.md5, HELLO_MD5);
  assert.equal(events[0].hashes?.size, 12);
}));

test('a change of content is FileModified, a rename FileRenamed with the previous path, and an empty file is hashed', withMonitor(async (dir, events, monitor) => {
  const path = join(dir, 'a.txt');
  writeFileSync(path, 'first');
  await waitFor(events, 1, monitor);
  writeFileSync(path, HELLO);
  await waitFor(events, 2, monitor);
  renameSync(path, join(dir, 'b.txt'));
  await waitFor(events, 3, monitor);
  writeFileSync(join(dir, 'empty'), '');
  await waitFor(events, 4, monitor);
  await sleep(300);
  assert.deepEqual(events.map((e) => [e.action, e.path, e.previousPath]), [
    ['FileCreated', path, undefined],
    ['FileModified', path, undefined],
    ['FileRenamed', join(dir, 'b.txt'), path],
    ['FileCreated', join(dir, 'empty'), undefined],
  ]);
  assert.equal(events[1].hashes?.sha256, HELLO_SHA256);
  assert.equal(events[2].hashes?.sha256, HELLO_SHA256);
  assert.equal(events[3].hashes?.sha256, EMPTY_SHA256);
  assert.equal(events[3].hashes?.size, 0);
}));

test("excluded paths and the agent's own transient files are not reported", withMonitor(async (dir, events, monitor) => {
  writeFileSync(join(dir, 'state'), 'x'); // an excluded path directly in a watched folder
  writeFileSync(join(dir, '.vigil-q-01ABC'), 'x');
  writeFileSync(join(dir, 'seen.txt'), 'x');
  await waitFor(events, 1, monitor);
  await sleep(300);
  assert.deepEqual(events.map((e) => e.path), [join(dir, 'seen.txt')]);
}, (dir) => [join(dir, 'state')]));

test('a stream of new files, in a folder and a new sub-folder, reports each file once, in order', withMonitor(async (dir, events, monitor) => {
  const written: string[] = [];
  for (let i = 0; i < 60; i++) {
    const path = join(dir, `f-${String(i).padStart(2, '0')}.bin`);
    writeFileSync(path, `file ${i}`);
    written.push(path);
    await sleep(i % 10 === 0 ? 40 : 4); // a stream with gaps: some files are taken by events, some by the timer
  }
  mkdirSync(join(dir, 'sub'));
  writeFileSync(join(dir, 'sub', 'inner.txt'), HELLO);
  await waitFor(events, 62, monitor);
  await sleep(300);
  const files = events.filter((e) => e.path !== join(dir, 'sub'));
  assert.deepEqual(files.map((e) => e.path), [...written, join(dir, 'sub', 'inner.txt')]);
  assert.ok(files.every((e) => e.action === 'FileCreated' && e.hashes?.size === e.hashes?.content?.length));
  assert.equal(files[60].hashes?.sha256, HELLO_SHA256);
}));

test('hashSmallFileSync hashes what the file holds when read, grown or shrunk since the lstat', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-hash-'));
  try {
    const path = join(dir, 'f');
    writeFileSync(path, HELLO);
    const info = lstatSync(path);
    const h = hashSmallFileSync(path, info)!;
    assert.deepEqual([h.sha256, h.sha1, h.md5, h.size, h.head.toString()], [HELLO_SHA256, HELLO_SHA1, HELLO_MD5, 12, HELLO]);
    writeFileSync(path, 'hello ');
    const small = lstatSync(path);
    appendFileSync(path, 'vigil\n'); // grown after the lstat
    assert.equal(hashSmallFileSync(path, small)?.sha256, HELLO_SHA256);
    writeFileSync(path, `${HELLO}and more`);
    const large = lstatSync(path);
    truncateSync(path, 12); // shrunk after the lstat
    assert.equal(hashSmallFileSync(path, large)?.sha256, HELLO_SHA256);
    // Not small: left to hashFile.
    writeFileSync(path, '');
    assert.equal(hashSmallFileSync(path, lstatSync(path)), undefined);
    writeFileSync(path, Buffer.alloc(65 * 1024));
    assert.equal(hashSmallFileSync(path, lstatSync(path)), undefined);
    assert.equal(hashSmallFileSync(dir, lstatSync(dir)), undefined);
    rmSync(path);
    assert.throws(() => hashSmallFileSync(path, info), { code: 'ENOENT' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('hashFile of an empty file and of a file larger than the small-file limit', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-hash-'));
  try {
    writeFileSync(join(dir, 'empty'), '');
    assert.equal((await hashFile(join(dir, 'empty')))?.sha256, EMPTY_SHA256);
    writeFileSync(join(dir, 'zeros'), Buffer.alloc(100 * 1024));
    const h = await hashFile(join(dir, 'zeros'));
    assert.deepEqual([h?.sha256, h?.sha1, h?.md5, h?.size], [
      'f627ca4c2c322f15db26152df306bd4f983f0146409b81a4341b9b340c365a16', '5a6918eebd9d635e8f632e3ef34e3792b1b5ec13',
      '4c6426ac7ef186464ecbb0d81cbfcb1e', 100 * 1024,
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ISO timestamps are those of Date.prototype.toISOString, across minutes and days', () => {
  const clock = createIsoClock();
  const cases: [number, string][] = [
    [1795919539819, '2026-11-29T02:32:19.819Z'],
    [1795919539009, '2026-11-29T02:32:19.009Z'],
    [1795919540000, '2026-11-29T02:32:20.000Z'],
    [1795919599999, '2026-11-29T02:33:19.999Z'],
    [0, '1970-01-01T00:00:00.000Z'],
    [59999, '1970-01-01T00:00:59.999Z'],
    [60000, '1970-01-01T00:01:00.000Z'],
    [951782400000, '2000-02-29T00:00:00.000Z'],
    [1795919539819.7, '2026-11-29T02:32:19.819Z'],
    [253402300799999, '9999-12-31T23:59:59.999Z'],
  ];
  for (const [ms, iso] of cases) assert.equal(clock.iso(ms), iso, String(ms));
  assert.match(clock.now(), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
});
