import type { Migration } from '../store/index.js';

/** State tables of the response module. Times are epoch milliseconds (bigint), JSON is text. */
export const RESPONSE_MIGRATIONS: readonly Migration[] = [{
  version: 1,
  name: 'actions, commands, files, investigations',
  async up(db) {
    await db.schema.createTable('response_actions')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('target_type', 'text', (c) => c.notNull())
      .addColumn('target', 'text', (c) => c.notNull())
      .addColumn('params', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('source', 'text', (c) => c.notNull())
      .addColumn('requested_by', 'text', (c) => c.notNull())
      .addColumn('requested_by_id', 'text', (c) => c.notNull())
      .addColumn('comment', 'text')
      .addColumn('decision_reason', 'text')
      .addColumn('decided_by', 'text')
      .addColumn('decided_at', 'bigint')
      .addColumn('reject_reason', 'text')
      .addColumn('investigation_id', 'text')
      .addColumn('alert_ids', 'text', (c) => c.notNull())
      .addColumn('verdict', 'text')
      .addColumn('command_id', 'text')
      .addColumn('message', 'text')
      .addColumn('output', 'text')
      .addColumn('undo_of', 'text')
      .addColumn('undone_by', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addColumn('pending_since', 'bigint')
      .addColumn('dispatched_at', 'bigint')
      .addColumn('completed_at', 'bigint')
      .execute();
    await db.schema.createIndex('ix_response_actions_state').on('response_actions').columns(['state', 'created_at']).execute();
    await db.schema.createIndex('ix_response_actions_investigation').on('response_actions').column('investigation_id').execute();
    await db.schema.createIndex('ix_response_actions_target').on('response_actions').columns(['target', 'kind']).execute();

    await db.schema.createTable('response_commands')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('device_id', 'text', (c) => c.notNull())
      .addColumn('action_id', 'text')
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('params', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('issued_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('next_delivery_at', 'bigint', (c) => c.notNull())
      .addColumn('last_delivered_at', 'bigint')
      .addColumn('deliveries', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('message', 'text')
      .addColumn('output', 'text')
      .addColumn('completed_at', 'bigint')
      .execute();
    await db.schema.createIndex('ix_response_commands_device').on('response_commands').columns(['device_id', 'state']).execute();
    await db.schema.createIndex('ix_response_commands_state').on('response_commands').columns(['state', 'expires_at']).execute();

    await db.schema.createTable('response_files')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('command_id', 'text', (c) => c.notNull())
      .addColumn('device_id', 'text', (c) => c.notNull())
      .addColumn('size', 'bigint', (c) => c.notNull())
      .addColumn('sha256', 'text', (c) => c.notNull())
      .addColumn('path', 'text')
      .addColumn('data', 'blob')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('ix_response_files_command').on('response_files').column('command_id').execute();

    await db.schema.createTable('response_investigations')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('device_id', 'text')
      .addColumn('title', 'text', (c) => c.notNull())
      .addColumn('trigger_alert_id', 'text', (c) => c.notNull())
      .addColumn('entities', 'text', (c) => c.notNull())
      .addColumn('log', 'text', (c) => c.notNull())
      .addColumn('started_at', 'bigint', (c) => c.notNull())
      .addColumn('completed_at', 'bigint')
      .addColumn('alerts_resolved', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema.createTable('response_investigation_alerts')
      .addColumn('investigation_id', 'text', (c) => c.notNull())
      .addColumn('alert_id', 'text', (c) => c.notNull())
      .addColumn('incident_id', 'text')
      .addPrimaryKeyConstraint('pk_response_investigation_alerts', ['investigation_id', 'alert_id'])
      .execute();
    await db.schema.createIndex('ix_response_investigation_alerts_alert').on('response_investigation_alerts').column('alert_id').execute();
    await db.schema.createIndex('ix_response_investigation_alerts_incident').on('response_investigation_alerts').column('incident_id').execute();
  },
}, {
  version: 2,
  name: 'investigation remediation counters',
  async up(db) {
    // unhandled: malicious entities nothing could be proposed for; prevented: copies the antivirus had already quarantined.
    await db.schema.alterTable('response_investigations').addColumn('unhandled', 'integer', (c) => c.notNull().defaultTo(0)).execute();
    await db.schema.alterTable('response_investigations').addColumn('prevented', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  },
}];
