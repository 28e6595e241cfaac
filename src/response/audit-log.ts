import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import type { Migration, Store } from '../store/index.js';

/** One entry as a caller records it. */
export interface AuditEntryInput {
  /** Who did it: a username, a principal id, or 'system:<module>' for automation. */
  readonly actor: string;
  /** What happened, dotted: 'sign-in', 'action.approve', 'policy.update', … */
  readonly action: string;
  /** What it happened to: an id or key. */
  readonly target: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

/** One stored entry, with its place in the chain. */
export interface AuditEntry extends AuditEntryInput {
  readonly seq: number;
  /** ISO 8601 UTC with ms. */
  readonly at: string;
  readonly prevHash: string;
  readonly hash: string;
}

export interface AuditVerifyResult {
  readonly ok: boolean;
  /** Rows checked (all of them when ok; up to and including the broken one otherwise). */
  readonly checked: number;
  readonly firstBroken?: { readonly seq: number; readonly reason: string };
}

/**
 * The append-only, hash-chained audit log. Each row's hash is SHA-256 over the previous row's hash and
 * the canonical JSON (keys sorted) of the row's own fields, so altering, inserting or removing a row
 * in the middle breaks every link after it, and `verify()` names the first one.
 */
export interface AuditLog {
  record(entry: AuditEntryInput): Promise<AuditEntry>;
  list(options?: { afterSeq?: number; limit?: number; actor?: string; action?: string; target?: string }): Promise<AuditEntry[]>;
  verify(): Promise<AuditVerifyResult>;
}

export interface AuditLogOptions {
  readonly store: Store;
  readonly now?: () => number;
}

/** The hash of the (empty) chain before the first row. */
export const AUDIT_GENESIS_HASH = '0'.repeat(64);

const migrations = (dialect: Store['dialect']): Migration[] => [{
  version: 1,
  name: 'audit log',
  async up(db) {
    await db.schema.createTable('audit_log')
      .addColumn('seq', 'integer', (c) => c.primaryKey())
      .addColumn('at', 'text', (c) => c.notNull())
      .addColumn('actor', 'text', (c) => c.notNull())
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('target', 'text', (c) => c.notNull())
      .addColumn('details', 'text')
      .addColumn('prev_hash', 'text', (c) => c.notNull())
      .addColumn('hash', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('ix_audit_log_actor').on('audit_log').column('actor').execute();
  },
}, {
  version: 2,
  name: 'append-only triggers and the chain head',
  async up(db) {
    // The database itself refuses to change or remove an entry; the hash chain catches whoever drops these.
    if (dialect === 'sqlite') {
      await sql`CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END`.execute(db);
      await sql`CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END`.execute(db);
    } else {
      await sql`CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$ LANGUAGE plpgsql`.execute(db);
      await sql`CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()`.execute(db);
    }
    // The last entry's seq and hash, written with each append: removing entries from the end shows.
    await db.schema.createTable('audit_head')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('hash', 'text', (c) => c.notNull())
      .execute();
    const last = await db.selectFrom('audit_log').select(['seq', 'hash']).orderBy('seq', 'desc').limit(1).executeTakeFirst();
    if (last) await db.insertInto('audit_head').values({ id: 1, seq: last.seq, hash: last.hash }).execute();
  },
}, {
  version: 3,
  name: 'the head follows each insert',
  async up(db) {
    // One INSERT appends an entry and moves the head with it, atomically.
    if (dialect === 'sqlite') {
      await sql`CREATE TRIGGER audit_head_follow AFTER INSERT ON audit_log BEGIN
        INSERT INTO audit_head (id, seq, hash) VALUES (1, NEW.seq, NEW.hash) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash;
      END`.execute(db);
    } else {
      await sql`CREATE FUNCTION audit_head_follow() RETURNS trigger AS $$ BEGIN
        INSERT INTO audit_head (id, seq, hash) VALUES (1, NEW.seq, NEW.hash) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash;
        RETURN NEW; END $$ LANGUAGE plpgsql`.execute(db);
      await sql`CREATE TRIGGER audit_head_follow AFTER INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_head_follow()`.execute(db);
    }
  },
}];

/** A primary-key clash: another writer appended the same seq first. */
function isConflict(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}

/** JSON with object keys sorted at every depth (RFC 8785-like, enough for values we store). */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** SHA-256 (hex) over the previous hash followed by the canonical JSON of the entry's own fields. */
export function auditHash(prevHash: string, entry: { seq: number; at: string; actor: string; action: string; target: string; details?: unknown }): string {
  const body = canonicalJson({ seq: entry.seq, at: entry.at, actor: entry.actor, action: entry.action, target: entry.target, details: entry.details ?? null });
  return createHash('sha256').update(prevHash).update(body).digest('hex');
}

const toEntry = (r: any): AuditEntry => ({
  seq: Number(r.seq), at: r.at, actor: r.actor, action: r.action, target: r.target,
  details: r.details == null ? undefined : JSON.parse(r.details), prevHash: r.prev_hash, hash: r.hash,
});

export async function createAuditLog({ store, now = Date.now }: AuditLogOptions): Promise<AuditLog> {
  await store.migrate('response.audit', migrations(store.dialect));
  const db = store.db;
  // Appends are serialised in-process so each row links to the one before it.
  let tail: Promise<unknown> = Promise.resolve();

  // The last entry, known in memory after the first append; another writer's append shows as a key clash.
  let last: { seq: number; hash: string } | undefined;

  async function readLast() {
    const row = await db.selectFrom('audit_log').select(['seq', 'hash']).orderBy('seq', 'desc').limit(1).executeTakeFirst();
    return row ? { seq: Number(row.seq), hash: String(row.hash) } : { seq: 0, hash: AUDIT_GENESIS_HASH };
  }

  async function append(input: AuditEntryInput): Promise<AuditEntry> {
    const details = input.details && Object.keys(input.details).length > 0 ? JSON.parse(JSON.stringify(input.details)) : undefined;
    for (let attempt = 0; ; attempt++) {
      last ??= await readLast();
      const seq = last.seq + 1;
      const prevHash = last.hash;
      const entry = { seq, at: new Date(now()).toISOString(), actor: String(input.actor), action: String(input.action), target: String(input.target), details };
      const hash = auditHash(prevHash, entry);
      try {
        await db.insertInto('audit_log').values({
          seq, at: entry.at, actor: entry.actor, action: entry.action, target: entry.target,
          details: details === undefined ? null : JSON.stringify(details), prev_hash: prevHash, hash,
        }).execute();
      } catch (error) {
        last = undefined;
        if (isConflict(error) && attempt < 10) continue;
        throw error;
      }
      last = { seq, hash };
      return { ...entry, prevHash, hash };
    }
  }

  return {
    record(entry) {
      const result = tail.then(() => append(entry));
      tail = result.catch(() => undefined);
      return result;
    },

    async list(options = {}) {
      let query = db.selectFrom('audit_log').selectAll().where('seq', '>', options.afterSeq ?? 0);
      if (options.actor) query = query.where('actor', '=', options.actor);
      if (options.action) query = query.where('action', '=', options.action);
      if (options.target) query = query.where('target', '=', options.target);
      const rows = await query.orderBy('seq').limit(Math.min(Math.max(options.limit ?? 100, 1), 10_000)).execute();
      return rows.map(toEntry);
    },

    async verify() {
      await tail;
      let prevHash = AUDIT_GENESIS_HASH;
      let expectedSeq = 1;
      let checked = 0;
      const pageSize = 5000;
      for (let after = 0; ;) {
        const rows = await db.selectFrom('audit_log').selectAll().where('seq', '>', after).orderBy('seq').limit(pageSize).execute();
        for (const r of rows) {
          checked++;
          const seq = Number(r.seq);
          const broken = (reason: string): AuditVerifyResult => ({ ok: false, checked, firstBroken: { seq, reason } });
          if (seq !== expectedSeq) {
            return { ok: false, checked, firstBroken: { seq, reason: `row ${expectedSeq}${seq > expectedSeq + 1 ? `–${seq - 1}` : ''} missing (chain jumps from ${expectedSeq - 1} to ${seq})` } };
          }
          if (r.prev_hash !== prevHash) return broken('previous-hash link does not match the row before it');
          let details: unknown;
          try {
            details = r.details == null ? undefined : JSON.parse(r.details);
          } catch {
            return broken('details are not valid JSON');
          }
          const expected = auditHash(prevHash, { seq, at: r.at, actor: r.actor, action: r.action, target: r.target, details });
          if (expected !== r.hash) return broken('content does not match its hash (row altered)');
          prevHash = r.hash;
          expectedSeq = seq + 1;
        }
        if (rows.length < pageSize) break;
        after = Number(rows[rows.length - 1].seq);
      }
      const head = await db.selectFrom('audit_head').select(['seq', 'hash']).where('id', '=', 1).executeTakeFirst();
      const lastSeq = expectedSeq - 1;
      if (head && (Number(head.seq) !== lastSeq || head.hash !== prevHash)) {
        return {
          ok: false, checked,
          firstBroken: Number(head.seq) > lastSeq
            ? { seq: lastSeq + 1, reason: `entries ${lastSeq + 1}–${Number(head.seq)} missing (the log was truncated)` }
            : { seq: Number(head.seq), reason: 'the recorded head of the chain does not match the last entry' },
        };
      }
      if (!head && checked > 0) return { ok: false, checked, firstBroken: { seq: lastSeq, reason: 'the recorded head of the chain is missing' } };
      return { ok: true, checked };
    },
  };
}
