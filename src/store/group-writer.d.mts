import type Database from 'better-sqlite3';
import type { WriteGroup } from './store.js';

export function createGroupWriter(db: Database.Database): Database.Transaction<(groups: readonly WriteGroup[]) => number>;
