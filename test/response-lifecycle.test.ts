import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VigilError } from '../src/errors/index.js';
import { DAY, EVIL_SHA, harness, type Harness } from './response-helpers.js';

const alice = { id: 'user:alice', name: 'alice' };
const bob = { id: 'user:bob', name: 'bob' };

async function manual(h: Harness, kind: string, target: string, params: unknown, by = alice) {
  return h.response.actions.create({ kind, target, params, source: 'manual', requestedBy: by, decision: 'auto' });
}

test('a manual device action goes proposed → approved → dispatched → running → succeeded over the channel', async () => {
  const h = await harness();
  try {
    const action = await manual(h, 'isolate', 'dev1', { allow: ['vigil.example'] });
    assert.equal(action.state, 'dispatched');
    const [command] = await h.response.commands.poll('dev1', 0);
    assert.deepEqual({ kind: command.kind, params: command.params }, { kind: 'isolate', params: { allow: ['vigil.example'] } });
    await h.response.commands.report('dev1', command.id, { status: 'running' });
    await h.response.commands.report('dev1', command.id, { status: 'succeeded', message: 'isolated' });
    const done = await h.response.actions.get(action.id);
    assert.equal(done?.state, 'succeeded');
    assert.equal(done?.message, 'isolated');
    await h.bus.drain();
    assert.deepEqual(h.changes.map((c) => c.state), ['proposed', 'approved', 'dispatched', 'running', 'succeeded']);
  } finally {
    await h.close();
  }
});

test('params are validated per kind', async () => {
  const h = await harness();
  try {
    await assert.rejects(manual(h, 'run_scan', 'dev1', { type: 'deep' }), (e: unknown) => e instanceof VigilError && e.status === 400);
    await assert.rejects(manual(h, 'quarantine_file', 'dev1', {}), /give 'path' or 'sha256'/);
    await assert.rejects(manual(h, 'stop_process', 'dev1', { pid: -1 }), /pid/);
    await assert.rejects(manual(h, 'no_such_kind', 'dev1', {}), /unknown action kind/);
    await assert.rejects(manual(h, 'isolate', 'dev1', { allow: 'all' }), /allow/);
  } finally {
    await h.close();
  }
});

test('a command is not delivered twice while in flight, is re-delivered after the lease, and a repeated result changes nothing', async () => {
  const h = await harness();
  try {
    const action = await manual(h, 'run_scan', 'dev1', { type: 'full' });
    const first = await h.response.commands.poll('dev1', 0);
    assert.equal(first.length, 1);
    assert.deepEqual(await h.response.commands.poll('dev1', 0), []);
    h.clock.now += 60_000;
    const again = await h.response.commands.poll('dev1', 0);
    assert.deepEqual(again.map((c) => c.id), [first[0].id]);
    const one = await h.response.commands.report('dev1', first[0].id, { status: 'succeeded' });
    const two = await h.response.commands.report('dev1', first[0].id, { status: 'succeeded' });
    assert.equal(one.changed, true);
    assert.equal(two.changed, false);
    await assert.rejects(h.response.commands.report('dev1', first[0].id, { status: 'failed' }), /already ended as succeeded/);
    h.clock.now += 120_000;
    assert.deepEqual(await h.response.commands.poll('dev1', 0), []);
    assert.equal((await h.response.actions.get(action.id))?.state, 'succeeded');
    // Another device cannot report on it.
    await assert.rejects(h.response.commands.report('dev2', first[0].id, { status: 'failed' }), /not found/);
  } finally {
    await h.close();
  }
});

test('a long-poll returns as soon as a command is queued for its device only', async () => {
  const h = await harness();
  try {
    const waiting = h.response.commands.poll('dev1', 10_000);
    const other = h.response.commands.poll('dev2', 50);
    await manual(h, 'collect_package', 'dev1', {});
    const got = await waiting;
    assert.deepEqual(got.map((c) => c.kind), ['collect_package']);
    assert.deepEqual(await other, []);
  } finally {
    await h.close();
  }
});

test('an offline device is retried for 3 days: delivered when it reconnects within the window', async () => {
  const h = await harness();
  try {
    const action = await manual(h, 'isolate', 'dev-offline', {});
    h.clock.now += 2 * DAY + 23 * 60 * 60 * 1000;
    assert.deepEqual(await h.response.sweep(), { expired: 0, timedOut: 0, recovered: 0 });
    const [command] = await h.response.commands.poll('dev-offline', 0);
    assert.equal(command.kind, 'isolate');
    await h.response.commands.report('dev-offline', command.id, { status: 'succeeded' });
    assert.equal((await h.response.actions.get(action.id))?.state, 'succeeded');
  } finally {
    await h.close();
  }
});

test('an offline device that stays away for 3 days times the action out, and the command is no longer delivered', async () => {
  const h = await harness();
  try {
    const action = await manual(h, 'isolate', 'dev-offline', {});
    h.clock.now += 3 * DAY;
    assert.deepEqual(await h.response.sweep(), { expired: 0, timedOut: 1, recovered: 0 });
    const timedOut = await h.response.actions.get(action.id);
    assert.equal(timedOut?.state, 'timedOut');
    assert.deepEqual(await h.response.commands.poll('dev-offline', 0), []);
    assert.equal((await h.response.commands.get(timedOut!.commandId!))?.state, 'expired');
  } finally {
    await h.close();
  }
});

test('approval runs a pending action; rejection keeps it from running and records the reason', async () => {
  const h = await harness({ extra: { fourEyes: true } });
  try {
    const a = await manual(h, 'isolate', 'dev1', {});
    const b = await manual(h, 'restrict_app', 'dev1', {});
    assert.equal(a.state, 'pendingApproval');
    assert.equal(a.decisionReason, 'four-eyes: another responder must approve');
    const pending = await h.response.actions.list({ state: 'pending' });
    assert.deepEqual(pending.map((x) => x.id).sort(), [a.id, b.id].sort());

    const self = await h.response.actions.approve([a.id], alice);
    assert.equal(self.done.length, 0);
    assert.equal(self.errors[0].error, 'forbidden');

    const approved = await h.response.actions.approve([a.id], bob, 'go');
    assert.equal(approved.done[0].state, 'dispatched');
    assert.equal(approved.done[0].decidedBy, 'bob');
    const rejected = await h.response.actions.reject([b.id], bob, 'false positive');
    assert.equal(rejected.done[0].state, 'rejected');
    assert.equal(rejected.done[0].rejectReason, 'false positive');
    assert.deepEqual((await h.response.commands.poll('dev1', 0)).map((c) => c.kind), ['isolate']);
    // A decided action cannot be decided again.
    const twice = await h.response.actions.reject([a.id], bob, 'late');
    assert.equal(twice.errors[0].error, 'conflict');
    assert.equal((await h.response.actions.list({ state: 'pending' })).length, 0);
  } finally {
    await h.close();
  }
});

test('a pending action counts as rejected after 7 days (and not a millisecond earlier)', async () => {
  const h = await harness({ extra: { fourEyes: true } });
  try {
    const a = await manual(h, 'isolate', 'dev1', {});
    h.clock.now += 7 * DAY - 1;
    assert.deepEqual(await h.response.sweep(), { expired: 0, timedOut: 0, recovered: 0 });
    assert.equal((await h.response.actions.get(a.id))?.state, 'pendingApproval');
    h.clock.now += 1;
    assert.deepEqual(await h.response.sweep(), { expired: 1, timedOut: 0, recovered: 0 });
    const expired = await h.response.actions.get(a.id);
    assert.equal(expired?.state, 'rejected');
    assert.equal(expired?.decidedBy, 'system:expiry');
    assert.equal(expired?.rejectReason, 'expired: pending approval for 7 days');
    assert.deepEqual(await h.response.commands.poll('dev1', 0), []);
    assert.equal((await h.audit.list({ action: 'action.expire' })).length, 1);
  } finally {
    await h.close();
  }
});

test('undo of a quarantine restores the file by hash; undo of an isolation releases the device; each only once', async () => {
  const h = await harness();
  try {
    const q = await manual(h, 'quarantine_file', 'dev1', { path: '/tmp/evil', sha256: EVIL_SHA.toUpperCase() });
    const iso = await manual(h, 'isolate', 'dev1', {});
    await assert.rejects(h.response.actions.undo(q.id, alice), /only a succeeded action can be undone/);
    for (const c of await h.response.commands.poll('dev1', 0)) await h.response.commands.report('dev1', c.id, { status: 'succeeded' });

    const restore = await h.response.actions.undo(q.id, alice);
    assert.deepEqual({ kind: restore.kind, params: restore.params, source: restore.source, undoOf: restore.undoOf },
      { kind: 'restore_file', params: { sha256: EVIL_SHA }, source: 'undo', undoOf: q.id });
    const release = await h.response.actions.undo(iso.id, alice);
    assert.equal(release.kind, 'release');
    assert.equal((await h.response.actions.get(q.id))?.undoneBy, restore.id);
    await assert.rejects(h.response.actions.undo(q.id, alice), /already undone/);
    assert.deepEqual((await h.response.commands.poll('dev1', 0)).map((c) => c.kind).sort(), ['release', 'restore_file']);

    const scan = await manual(h, 'run_scan', 'dev1', {});
    await assert.rejects(h.response.actions.undo(scan.id, alice), /cannot be undone/);
  } finally {
    await h.close();
  }
});

test('user actions run through the injected UserActions and disable is undone by enable', async () => {
  const calls: string[] = [];
  const users = {
    disable: async (k: string) => { calls.push(`disable ${k}`); },
    enable: async (k: string) => { calls.push(`enable ${k}`); },
    revokeSessions: async (k: string) => { calls.push(`revoke ${k}`); },
    requirePasswordReset: async () => { throw new VigilError('not_found', 404, 'no such user'); },
    confirmCompromised: async (k: string) => { calls.push(`compromised ${k}`); },
  };
  const h = await harness({ extra: { userActions: users } });
  try {
    const d = await manual(h, 'disable_user', 'Alice@Example.COM', {});
    assert.equal(d.state, 'succeeded');
    assert.equal(d.target, 'alice@example.com');
    const reset = await manual(h, 'require_password_reset', 'nobody', {});
    assert.equal(reset.state, 'failed');
    assert.equal(reset.message, 'no such user');
    const e = await h.response.actions.undo(d.id, alice);
    assert.equal(e.kind, 'enable_user');
    assert.equal(e.state, 'succeeded');
    assert.deepEqual(calls, ['disable alice@example.com', 'enable alice@example.com']);
  } finally {
    await h.close();
  }
});

test('a registered plug-in kind (email) is validated and executed', async () => {
  const h = await harness();
  try {
    const deleted: string[] = [];
    h.response.registerActionKind({
      kind: 'soft_delete', targetType: 'email', description: 'soft delete',
      validate: (p) => (p as Record<string, unknown>) ?? {},
      execute: async (action) => { deleted.push(action.target); return { state: 'succeeded', message: 'moved to recoverable items' }; },
    });
    assert.throws(() => h.response.registerActionKind({ kind: 'soft_delete', targetType: 'email', description: '', validate: () => ({}), execute: async () => ({ state: 'succeeded' }) }), /already registered/);
    const a = await manual(h, 'soft_delete', 'msg-1', {});
    assert.equal(a.state, 'succeeded');
    assert.deepEqual(deleted, ['msg-1']);
  } finally {
    await h.close();
  }
});

test('every decision is in the audit log and the chain verifies', async () => {
  const h = await harness({ extra: { fourEyes: true } });
  try {
    const a = await manual(h, 'isolate', 'dev1', {});
    await h.response.actions.approve([a.id], bob);
    const actions = (await h.audit.list()).map((e) => `${e.actor} ${e.action}`);
    assert.deepEqual(actions, ['alice action.create', 'bob action.approve']);
    assert.equal((await h.audit.verify()).ok, true);
  } finally {
    await h.close();
  }
});

test('add_indicator hands a validated indicator to intel, with the requester as its creator', async () => {
  const { indicatorActionKind } = await import('../src/response/index.js');
  const h = await harness();
  try {
    const created: { input: Record<string, unknown>; actor: string }[] = [];
    h.response.registerActionKind(indicatorActionKind(async (input, actor) => {
      created.push({ input, actor });
      if (input.value === 'not-a-hash') throw new VigilError('bad_request', 400, "'value' is not a SHA-256");
      return { id: 'ind-1' };
    }));
    await assert.rejects(manual(h, 'add_indicator', EVIL_SHA, { type: 'sha512', action: 'block' }), /'type' must be one of/);
    await assert.rejects(manual(h, 'add_indicator', EVIL_SHA, { type: 'sha256', action: 'nuke' }), /'action' must be one of/);
    const ok = await manual(h, 'add_indicator', EVIL_SHA, { type: 'sha256', action: 'block_and_remediate', title: 'invoice.elf' });
    assert.deepEqual([ok.state, ok.output], ['succeeded', { indicatorId: 'ind-1' }]);
    assert.deepEqual(created[0], { input: { type: 'sha256', value: EVIL_SHA, action: 'block_and_remediate', title: 'invoice.elf', source: 'response' }, actor: 'alice' });
    const refused = await manual(h, 'add_indicator', 'not-a-hash', { type: 'sha256', action: 'block' });
    assert.deepEqual([refused.state, refused.message], ['failed', "'value' is not a SHA-256"]);
  } finally {
    await h.close();
  }
});

test('after a crash, an action left approved is executed and one left proposed waits for approval', async () => {
  const h = await harness();
  try {
    const row = (id: string, state: string) => ({
      id, kind: 'isolate', target_type: 'device', target: 'dev9', params: '{}', state, source: 'manual', requested_by: 'alice',
      requested_by_id: 'user:alice', alert_ids: '[]', created_at: h.clock.now, updated_at: h.clock.now,
    });
    await h.store.db.insertInto('response_actions').values([row('A-approved', 'approved'), row('A-proposed', 'proposed')]).execute();
    assert.deepEqual(await h.response.sweep(), { expired: 0, timedOut: 0, recovered: 0 }); // not stale yet
    h.clock.now += 60_000;
    assert.deepEqual(await h.response.sweep(), { expired: 0, timedOut: 0, recovered: 2 });
    assert.equal((await h.response.actions.get('A-approved'))?.state, 'dispatched');
    assert.equal((await h.response.actions.get('A-proposed'))?.state, 'pendingApproval');
    assert.deepEqual((await h.response.commands.poll('dev9', 0)).map((c) => c.kind), ['isolate']);
  } finally {
    await h.close();
  }
});

test('a result that arrives before the dispatch is recorded still completes the action', async () => {
  const h = await harness();
  try {
    await h.store.db.insertInto('response_actions').values({
      id: 'A-race', kind: 'run_scan', target_type: 'device', target: 'dev7', params: '{"type":"quick"}', state: 'approved', source: 'manual',
      requested_by: 'alice', requested_by_id: 'user:alice', alert_ids: '[]', created_at: h.clock.now, updated_at: h.clock.now,
    }).execute();
    const command = await h.response.commands.enqueue({ deviceId: 'dev7', kind: 'run_scan', params: { type: 'quick' }, actionId: 'A-race' });
    await h.response.commands.poll('dev7', 0);
    await h.response.commands.report('dev7', command.id, { status: 'succeeded' });
    const action = await h.response.actions.get('A-race');
    assert.deepEqual([action?.state, action?.commandId], ['succeeded', command.id]);
  } finally {
    await h.close();
  }
});
