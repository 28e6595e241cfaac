// Store.batch's write, shared by the main connection (sqlite-store.ts) and the batch writer's worker
// thread (batch-writer-worker.mjs). Plain JS so the worker loads it without a loader.

/**
 * A transaction over `db` (a better-sqlite3 handle) that runs every group's statement once per row.
 * Statements are prepared once per SQL text (at most 256 kept). The transaction returns the rows written.
 */
export function createGroupWriter(db) {
  const prepared = new Map();
  return db.transaction((groups) => {
    let rows = 0;
    for (const group of groups) {
      if (group.rows.length === 0) continue;
      let statement = prepared.get(group.sql);
      if (!statement) {
        if (prepared.size >= 256) prepared.clear();
        prepared.set(group.sql, statement = db.prepare(group.sql));
      }
      for (const row of group.rows) statement.run(row);
      rows += group.rows.length;
    }
    return rows;
  });
}
