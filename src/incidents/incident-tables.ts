// State tables of the incidents module. Times are epoch milliseconds UTC; lists and objects are JSON text.
import { sql } from 'kysely';
import type { Migration } from '../store/index.js';

/** The module's migrations; on SQLite the two entity tables are clustered on their key (WITHOUT ROWID). */
export const incidentMigrations = (dialect: 'sqlite' | 'postgres'): readonly Migration[] => [
  {
    version: 1,
    name: 'alerts, incidents, entity index, comments, activity, suppression rules, risk',
    async up(db) {
      await db.schema.createTable('incidents')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('title_custom', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('severity_rank', 'integer', (c) => c.notNull())
        .addColumn('classification', 'text', (c) => c.notNull())
        .addColumn('determination', 'text', (c) => c.notNull())
        .addColumn('assigned_to', 'text')
        .addColumn('custom_tags', 'text', (c) => c.notNull())
        .addColumn('system_tags', 'text', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('redirect_incident_id', 'text')
        .addColumn('alert_count', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('resolved_at', 'bigint')
        .addColumn('first_activity', 'bigint', (c) => c.notNull())
        .addColumn('last_activity', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('incidents_status_last').on('incidents').columns(['status', 'last_activity']).execute();
      await db.schema.createIndex('incidents_updated').on('incidents').column('updated_at').execute();

      await db.schema.createTable('incident_alerts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('incident_id', 'text')
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('severity_rank', 'integer', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('classification', 'text', (c) => c.notNull())
        .addColumn('determination', 'text', (c) => c.notNull())
        .addColumn('assigned_to', 'text')
        .addColumn('detection_source', 'text', (c) => c.notNull())
        .addColumn('service_source', 'text', (c) => c.notNull())
        .addColumn('category', 'text', (c) => c.notNull())
        .addColumn('rule_id', 'text')
        .addColumn('dedup_key', 'text', (c) => c.notNull())
        .addColumn('count', 'integer', (c) => c.notNull())
        .addColumn('first_activity', 'bigint', (c) => c.notNull())
        .addColumn('last_activity', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('resolved_at', 'bigint')
        .addColumn('suppressed', 'integer', (c) => c.notNull())
        .addColumn('suppression_rule_id', 'text')
        // description, mitreTechniques, tactics, rule, evidence, events
        .addColumn('data', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('incident_alerts_incident').on('incident_alerts').column('incident_id').execute();
      await db.schema.createIndex('incident_alerts_last').on('incident_alerts').column('last_activity').execute();

      // The devices and users of each alert (filters, and risk rebuilt at start); the rest of the evidence is in `data`.
      await db.schema.createTable('incident_alert_entities')
        .addColumn('alert_id', 'text', (c) => c.notNull())
        .addColumn('entity', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('label', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        // Clustered by entity: "alerts on this device" is the one lookup it serves.
        .addPrimaryKeyConstraint('incident_alert_entities_pk', ['entity', 'alert_id', 'role'])
        .$call((b) => (dialect === 'sqlite' ? b.modifyEnd(sql`without rowid`) : b))
        .execute();

      // entity → incidents that hold it (device and user filters; correlation keeps its own index in memory).
      await db.schema.createTable('incident_entity_index')
        .addColumn('entity', 'text', (c) => c.notNull())
        .addColumn('incident_id', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('incident_entity_index_pk', ['entity', 'incident_id'])
        .$call((b) => (dialect === 'sqlite' ? b.modifyEnd(sql`without rowid`) : b))
        .execute();
      await db.schema.createIndex('incident_entity_index_incident').on('incident_entity_index').column('incident_id').execute();

      await db.schema.createTable('incident_comments')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('incident_id', 'text', (c) => c.notNull())
        .addColumn('author', 'text', (c) => c.notNull())
        .addColumn('text', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('incident_comments_incident').on('incident_comments').column('incident_id').execute();

      await db.schema.createTable('incident_activity')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('incident_id', 'text', (c) => c.notNull())
        .addColumn('alert_id', 'text')
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('details', 'text', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('incident_activity_incident').on('incident_activity').columns(['incident_id', 'at']).execute();

      await db.schema.createTable('incident_suppression_rules')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('rule_id', 'text')
        .addColumn('entity_kind', 'text')
        .addColumn('entity_key', 'text')
        .addColumn('fields', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'bigint')
        .addColumn('comment', 'text', (c) => c.notNull())
        .addColumn('enabled', 'integer', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_by', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema.createTable('incident_risk')
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('level', 'text', (c) => c.notNull())
        .addColumn('active_alerts', 'integer', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('incident_risk_pk', ['kind', 'key'])
        .execute();
    },
  },
  {
    version: 2,
    name: 'alert entities slimmed to (entity, alert_id); kind, key, label and role are in the alert data',
    async up(db) {
      // Only "alerts on this device / user" reads this table; the narrower rows halve the pages each batch of alerts touches.
      await db.schema.createTable('incident_alert_entities_v2')
        .addColumn('entity', 'text', (c) => c.notNull())
        .addColumn('alert_id', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('incident_alert_entities_v2_pk', ['entity', 'alert_id'])
        .$call((b) => (dialect === 'sqlite' ? b.modifyEnd(sql`without rowid`) : b))
        .execute();
      await sql`INSERT INTO "incident_alert_entities_v2" ("entity", "alert_id")
        SELECT DISTINCT "entity", "alert_id" FROM "incident_alert_entities"`.execute(db);
      await db.schema.dropTable('incident_alert_entities').execute();
      await db.schema.alterTable('incident_alert_entities_v2').renameTo('incident_alert_entities').execute();
      // The entity index serves the device and user filters only; other kinds correlate in memory.
      await sql`DELETE FROM "incident_entity_index" WHERE "entity" NOT LIKE 'device:%' AND "entity" NOT LIKE 'user:%'`.execute(db);
    },
  },
];
