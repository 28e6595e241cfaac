import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { createSqliteStore } from './index.js';
import { runStoreSuite } from './store-suite.js';

const dir = mkdtempSync(join(tmpdir(), 'vigil-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));

runStoreSuite('sqlite file', () => createSqliteStore({ file: join(dir, 'vigil.db') }), { queryWorkers: true });
runStoreSuite('sqlite memory', () => createSqliteStore({ file: ':memory:' }), { queryWorkers: false });
