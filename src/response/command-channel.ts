import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ulid } from 'ulid';
import { VigilError } from '../errors/index.js';
import type { Store } from '../store/index.js';
import type { AgentCommand, CommandRecord, CommandResult, CommandState } from './types.js';

/** A file a sensor uploaded for a command (an investigation package). */
export interface CommandFile {
  readonly id: string;
  readonly commandId: string;
  readonly deviceId: string;
  readonly size: number;
  readonly sha256: string;
  readonly createdAt: string;
}

/**
 * The server side of the device-scoped command channel (CONTRACTS.md "Command channel"). Commands live in
 * the store, so none is lost across a restart; each is re-delivered until the agent reports a terminal
 * result or its retry window (3 days) closes. The id makes re-delivery idempotent on the agent.
 */
export interface CommandChannel {
  enqueue(input: { deviceId: string; kind: string; params: Readonly<Record<string, unknown>>; actionId?: string }): Promise<CommandRecord>;
  /** Commands due for the device, marked delivered; waits up to `waitMs` for one when none is due. */
  poll(deviceId: string, waitMs: number, signal?: AbortSignal): Promise<AgentCommand[]>;
  /** The agent's report on one of its commands. Re-posting the same terminal result changes nothing. */
  report(deviceId: string, commandId: string, result: CommandResult): Promise<{ changed: boolean; command: CommandRecord }>;
  upload(deviceId: string, commandId: string, body: Buffer): Promise<CommandFile>;
  get(id: string): Promise<CommandRecord | undefined>;
  files(commandId: string): Promise<CommandFile[]>;
  readFile(fileId: string): Promise<{ file: CommandFile; data: Buffer } | undefined>;
  /** Commands whose retry window has closed without a terminal result become 'expired' (returned). */
  expire(): Promise<CommandRecord[]>;
  /** Devices with a poll waiting right now. */
  connected(): string[];
  /** Answers every waiting poll with an empty list (shutdown). */
  close(): void;
}

export interface CommandChannelOptions {
  readonly store: Store;
  readonly now: () => number;
  /** How long a command may wait for its device (offline devices are retried until then). Default 3 days. */
  readonly retryWindowMs?: number;
  /** A delivered command without a result is delivered again after this long. Default 60 s. */
  readonly redeliverAfterMs?: number;
  /** Uploaded files go here; without it they are kept in the database. */
  readonly filesDir?: string;
  /** Called after a command's state changed through the agent's report or expiry. */
  readonly onUpdate: (command: CommandRecord) => Promise<void>;
}

const OPEN_STATES: readonly CommandState[] = ['queued', 'delivered', 'running'];
const MAX_WAITERS_PER_DEVICE = 4;
const iso = (ms: unknown) => (ms == null ? undefined : new Date(Number(ms)).toISOString());
const json = (text: unknown) => (text == null ? undefined : JSON.parse(String(text)));

const toCommand = (r: any): CommandRecord => ({
  id: r.id, deviceId: r.device_id, actionId: r.action_id ?? undefined, kind: r.kind, params: JSON.parse(r.params),
  state: r.state, issuedAt: iso(r.issued_at)!, expiresAt: iso(r.expires_at)!, deliveries: Number(r.deliveries),
  lastDeliveredAt: iso(r.last_delivered_at), message: r.message ?? undefined, output: json(r.output), completedAt: iso(r.completed_at),
});

const toFile = (r: any): CommandFile => ({
  id: r.id, commandId: r.command_id, deviceId: r.device_id, size: Number(r.size), sha256: r.sha256, createdAt: iso(r.created_at)!,
});

export async function createCommandChannel(options: CommandChannelOptions): Promise<CommandChannel> {
  const { store, now } = options;
  const db = store.db;
  const retryWindowMs = options.retryWindowMs ?? 3 * 24 * 60 * 60 * 1000;
  const redeliverAfterMs = options.redeliverAfterMs ?? 60_000;
  if (options.filesDir) mkdirSync(options.filesDir, { recursive: true });
  const waiters = new Map<string, Set<() => void>>();
  let closed = false;

  // After a restart nothing is known about deliveries in flight: every open command is due again at once.
  await db.updateTable('response_commands').set({ next_delivery_at: 0 }).where('state', 'in', OPEN_STATES).execute();

  function wake(deviceId: string) {
    const set = waiters.get(deviceId);
    if (!set) return;
    waiters.delete(deviceId);
    for (const resolve of set) resolve();
  }

  async function take(deviceId: string): Promise<AgentCommand[]> {
    const t = now();
    // One statement claims what is due, so two polls of the same device never both get a command.
    const rows = await db.updateTable('response_commands')
      .set((eb) => ({
        next_delivery_at: t + redeliverAfterMs, last_delivered_at: t, deliveries: eb('deliveries', '+', 1),
        state: eb.case().when('state', '=', 'queued').then('delivered').else(eb.ref('state')).end(),
      }))
      .where('id', 'in', db.selectFrom('response_commands').select('id')
        .where('device_id', '=', deviceId).where('state', 'in', OPEN_STATES)
        .where('next_delivery_at', '<=', t).where('expires_at', '>', t)
        .orderBy('issued_at').orderBy('id').limit(100))
      .returning(['id', 'kind', 'params', 'issued_at'])
      .execute();
    return rows
      .sort((a, b) => Number(a.issued_at) - Number(b.issued_at) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((r) => ({ id: r.id, kind: r.kind, params: JSON.parse(r.params), issuedAt: iso(r.issued_at)! }));
  }

  async function get(id: string) {
    const row = await db.selectFrom('response_commands').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toCommand(row) : undefined;
  }

  async function owned(deviceId: string, commandId: string): Promise<CommandRecord> {
    const command = await get(commandId);
    // Another device's command is reported as unknown: ids are not secrets, but nothing leaks either.
    if (!command || command.deviceId !== deviceId) throw new VigilError('not_found', 404, `command ${commandId} not found`);
    return command;
  }

  return {
    async enqueue({ deviceId, kind, params, actionId }) {
      const t = now();
      const id = ulid(t);
      const row = {
        id, device_id: deviceId, action_id: actionId ?? null, kind, params: JSON.stringify(params), state: 'queued',
        issued_at: t, expires_at: t + retryWindowMs, next_delivery_at: t, deliveries: 0,
      };
      await db.insertInto('response_commands').values(row).execute();
      wake(deviceId);
      return toCommand(row);
    },

    async poll(deviceId, waitMs, signal) {
      const due = await take(deviceId);
      if (due.length > 0 || waitMs <= 0 || closed || signal?.aborted) return due;
      // One agent holds one poll; a few more are tolerated (restarts), beyond that a poll answers at once.
      if ((waiters.get(deviceId)?.size ?? 0) >= MAX_WAITERS_PER_DEVICE) return due;
      await new Promise<void>((resolve) => {
        let set = waiters.get(deviceId);
        if (!set) waiters.set(deviceId, (set = new Set()));
        const done = () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', done);
          waiters.get(deviceId)?.delete(done);
          if (waiters.get(deviceId)?.size === 0) waiters.delete(deviceId);
          resolve();
        };
        const timer = setTimeout(done, waitMs);
        signal?.addEventListener('abort', done, { once: true });
        set.add(done);
      });
      if (closed || signal?.aborted) return [];
      return take(deviceId);
    },

    async report(deviceId, commandId, result) {
      const t = now();
      const terminal = result.status !== 'running';
      const output = result.output === undefined ? null : JSON.stringify(result.output);
      if (output !== null && output.length > 1_000_000) throw new VigilError('bad_request', 400, "'output' is larger than 1 MB; upload it as a file");
      // The usual case in one statement: this device's open command takes the result.
      const row = await db.updateTable('response_commands').set({
        state: result.status,
        message: result.message ?? null,
        ...(output !== null ? { output } : {}),
        ...(terminal ? { completed_at: t } : { next_delivery_at: t + redeliverAfterMs }),
      }).where('id', '=', commandId).where('device_id', '=', deviceId)
        .where('state', 'in', terminal ? OPEN_STATES : ['queued', 'delivered'])
        .returningAll().executeTakeFirst();
      if (row) {
        const updated = toCommand(row);
        await options.onUpdate(updated);
        return { changed: true, command: updated };
      }
      const command = await owned(deviceId, commandId);
      if (command.state === 'succeeded' || command.state === 'failed' || command.state === 'expired') {
        if (result.status === 'running' || result.status === command.state) return { changed: false, command };
        throw new VigilError('conflict', 409, `command ${commandId} already ended as ${command.state}`);
      }
      return { changed: false, command }; // running, reported running again
    },

    async upload(deviceId, commandId, body) {
      const command = await owned(deviceId, commandId);
      if (body.length < 2 || body[0] !== 0x1f || body[1] !== 0x8b) throw new VigilError('bad_request', 400, 'the body is not gzip data');
      const t = now();
      const id = ulid(t);
      const sha256 = createHash('sha256').update(body).digest('hex');
      let path: string | null = null;
      if (options.filesDir) {
        path = join(options.filesDir, `${id}.gz`);
        await writeFile(path, body, { flag: 'wx' });
      }
      await db.insertInto('response_files').values({
        id, command_id: command.id, device_id: deviceId, size: body.length, sha256, path, data: path ? null : body, created_at: t,
      }).execute();
      return { id, commandId: command.id, deviceId, size: body.length, sha256, createdAt: iso(t)! };
    },

    get,

    async files(commandId) {
      const rows = await db.selectFrom('response_files').select(['id', 'command_id', 'device_id', 'size', 'sha256', 'created_at'])
        .where('command_id', '=', commandId).orderBy('id').execute();
      return rows.map(toFile);
    },

    async readFile(fileId) {
      const row = await db.selectFrom('response_files').selectAll().where('id', '=', fileId).executeTakeFirst();
      if (!row) return undefined;
      const data = row.path ? await readFile(row.path) : Buffer.from(row.data as Uint8Array);
      return { file: toFile(row), data };
    },

    async expire() {
      const t = now();
      const rows = await db.selectFrom('response_commands').select('id')
        .where('state', 'in', OPEN_STATES).where('expires_at', '<=', t).execute();
      const expired: CommandRecord[] = [];
      for (const { id } of rows) {
        const update = await db.updateTable('response_commands')
          .set({ state: 'expired', completed_at: t, message: 'the device did not complete the command within its retry window' })
          .where('id', '=', id).where('state', 'in', OPEN_STATES).executeTakeFirst();
        if (Number(update.numUpdatedRows) === 0) continue;
        const command = (await get(id))!;
        expired.push(command);
        await options.onUpdate(command);
      }
      return expired;
    },

    connected: () => [...waiters.keys()],

    close() {
      closed = true;
      for (const deviceId of [...waiters.keys()]) wake(deviceId);
    },
  };
}
