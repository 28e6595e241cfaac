// Child process for Store.query(): a read-only SQLite connection. Plain JS so it starts without a loader;
// a TypeScript functions module is loaded through tsx's API.
import Database from 'better-sqlite3';

const db = new Database(process.env.VIGIL_QUERY_DB, { readonly: true, fileMustExist: true });
db.pragma('busy_timeout = 5000');
if (process.env.VIGIL_QUERY_FUNCTIONS) {
  const { register } = await import('tsx/esm/api');
  register();
  const mod = await import(process.env.VIGIL_QUERY_FUNCTIONS);
  mod.registerSqlFunctions(db);
}

process.on('disconnect', () => process.exit(0));
process.on('message', ({ id, sql, params, maxRows }) => {
  try {
    const statement = db.prepare(sql);
    if (!statement.reader) throw Object.assign(new Error('only read-only queries may run here'), { code: 'query_not_read_only' });
    statement.raw(true);
    const columns = statement.columns().map((c) => c.name);
    const rows = [];
    let truncated = false;
    const max = maxRows ?? Infinity;
    for (const row of statement.iterate(...params)) {
      if (rows.length >= max) { truncated = true; break; }
      rows.push(row.map((v) => (typeof v === 'bigint' ? Number(v) : v)));
    }
    process.send({ id, ok: true, result: { columns, rows, truncated } });
  } catch (error) {
    process.send({ id, ok: false, error: String(error?.message ?? error), code: error?.code === 'query_not_read_only' ? error.code : 'query_failed' });
  }
});
