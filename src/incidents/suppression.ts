// Suppression rules: match an incoming alert by detecting rule, entity and field values.
import { VigilError } from '../errors/index.js';
import type { EntityKind, RaisedAlert } from '../schema/index.js';
import type { SuppressionRule, SuppressionRuleInput } from './incident-model.js';

const TOP_FIELDS = new Set(['title', 'category', 'severity', 'detectionSource', 'serviceSource', 'description']);
const KINDS: readonly EntityKind[] = ['device', 'user', 'mailbox', 'process', 'file', 'ip', 'url', 'sender', 'mailMessage'];

/** A rule compiled for matching: lower-cased values in sets. */
export interface CompiledSuppression {
  readonly rule: SuppressionRule;
  readonly expiresMs: number | null;
  readonly ruleId: string | null;
  readonly entityKind: EntityKind | undefined;
  readonly entityKey: string | null;
  readonly fields: readonly (readonly [string, ReadonlySet<string>])[];
}

export function compileSuppression(rule: SuppressionRule): CompiledSuppression {
  return {
    rule,
    expiresMs: rule.expiresAt ? Date.parse(rule.expiresAt) : null,
    ruleId: rule.ruleId?.toLowerCase() ?? null,
    entityKind: rule.entity?.kind,
    entityKey: rule.entity?.key.toLowerCase() ?? null,
    fields: Object.entries(rule.fields).map(([name, values]) => [name, new Set(values.map((v) => v.toLowerCase()))] as const),
  };
}

function fieldValues(alert: RaisedAlert, name: string): string[] {
  if (TOP_FIELDS.has(name)) {
    const v = (alert as unknown as Record<string, unknown>)[name];
    return typeof v === 'string' ? [v] : [];
  }
  if (name === 'mitreTechniques' || name === 'tactics') return [...alert[name]];
  const out: string[] = [];
  for (const e of alert.evidence) {
    const v = e.details?.[name];
    if (typeof v === 'string' || typeof v === 'number') out.push(String(v));
  }
  return out;
}

/** True when every condition of the rule holds for the alert (and the rule is enabled and unexpired at `nowMs`). */
export function suppressionMatches(c: CompiledSuppression, alert: RaisedAlert, nowMs: number): boolean {
  if (!c.rule.enabled) return false;
  if (c.expiresMs !== null && c.expiresMs <= nowMs) return false;
  if (c.ruleId !== null && alert.rule?.id.toLowerCase() !== c.ruleId) return false;
  if (c.entityKey !== null) {
    const hit = alert.evidence.some((e) => (c.entityKind === undefined || e.kind === c.entityKind) && e.key.toLowerCase() === c.entityKey);
    if (!hit) return false;
  }
  for (const [name, accepted] of c.fields) {
    if (!fieldValues(alert, name).some((v) => accepted.has(v.toLowerCase()))) return false;
  }
  return true;
}

/** Validates API input into the stored shape's parts; at least one condition is required so a rule never hides everything. */
export function parseSuppressionInput(input: unknown, partial = false): SuppressionRuleInput {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new VigilError('bad_request', 400, 'body must be a JSON object');
  const body = input as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  if (body.name !== undefined) {
    if (typeof body.name !== 'string' || body.name.length > 200) throw bad('name', 'a string of at most 200 characters');
    out.name = body.name;
  }
  if (body.ruleId !== undefined) {
    if (body.ruleId !== null && (typeof body.ruleId !== 'string' || body.ruleId === '')) throw bad('ruleId', 'a non-empty string or null');
    out.ruleId = body.ruleId;
  }
  if (body.entity !== undefined) {
    if (body.entity === null) out.entity = null;
    else {
      const e = body.entity as Record<string, unknown>;
      if (typeof e !== 'object' || typeof e.key !== 'string' || e.key === '') throw bad('entity', 'an object {kind?, key}');
      if (e.kind !== undefined && !KINDS.includes(e.kind as EntityKind)) throw bad('entity', `kind one of ${KINDS.join(', ')}`);
      out.entity = { kind: e.kind as EntityKind | undefined, key: e.key };
    }
  }
  if (body.fields !== undefined) {
    const f = body.fields as Record<string, unknown>;
    if (f === null || typeof f !== 'object' || Array.isArray(f)) throw bad('fields', 'an object of field → value or values');
    const fields: Record<string, string[]> = {};
    for (const [k, v] of Object.entries(f)) {
      const list = Array.isArray(v) ? v : [v];
      if (list.length === 0 || !list.every((x) => typeof x === 'string' || typeof x === 'number')) throw bad('fields', 'string values');
      fields[k] = list.map(String);
    }
    out.fields = fields;
  }
  if (body.expiresAt !== undefined) {
    if (body.expiresAt !== null && (typeof body.expiresAt !== 'string' || Number.isNaN(Date.parse(body.expiresAt)))) throw bad('expiresAt', 'an ISO 8601 time or null');
    out.expiresAt = body.expiresAt === null ? null : new Date(Date.parse(body.expiresAt as string)).toISOString();
  }
  if (body.comment !== undefined) {
    if (typeof body.comment !== 'string' || body.comment.length > 30_000) throw bad('comment', 'a string of at most 30,000 characters');
    out.comment = body.comment;
  }
  if (body.enabled !== undefined) {
    if (typeof body.enabled !== 'boolean') throw bad('enabled', 'a boolean');
    out.enabled = body.enabled;
  }
  if (!partial && !out.ruleId && !out.entity && !(out.fields && Object.keys(out.fields as object).length)) {
    throw new VigilError('bad_request', 400, 'a suppression rule needs at least one condition: ruleId, entity or fields');
  }
  return out as SuppressionRuleInput;
}

const bad = (field: string, what: string) => new VigilError('bad_request', 400, `'${field}' must be ${what}`, { field });
