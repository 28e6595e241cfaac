// STIX 2.1 (https://docs.oasis-open.org/cti/stix/v2.1/os/stix-v2.1-os.html): indicator patterns for the
// observables Vigil enforces, and the mapping between Vigil indicators and STIX Indicator SDOs.
import { randomUUID } from 'node:crypto';
import { ACTIONS_BY_TYPE, type Indicator, type IndicatorAction, type IndicatorInput, type IndicatorType } from './indicator-model.js';

export type StixObject = Record<string, unknown> & { readonly type: string; readonly id: string };

export interface StixBundle {
  readonly type: 'bundle';
  readonly id: string;
  readonly objects: readonly StixObject[];
}

/** STIX identifier: `<type>--<UUID>` (§2.9). */
export const STIX_ID = /^[a-z][a-z0-9-]*--[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export const newStixId = (type: string) => `${type}--${randomUUID()}`;

/** The object path → Vigil type, for the comparison expressions Vigil supports (§9, Cyber Observable Objects §6). */
const PATHS: Record<string, IndicatorType | 'ipv4-addr' | 'ipv6-addr'> = {
  "file:hashes.'SHA-256'": 'sha256', 'file:hashes.SHA256': 'sha256', "file:hashes.'SHA256'": 'sha256',
  "file:hashes.'SHA-1'": 'sha1', 'file:hashes.SHA1': 'sha1', "file:hashes.'SHA1'": 'sha1',
  'file:hashes.MD5': 'md5', "file:hashes.'MD5'": 'md5',
  "x509-certificate:hashes.'SHA-1'": 'cert', "x509-certificate:hashes.'SHA-256'": 'cert', 'x509-certificate:hashes.SHA1': 'cert',
  'ipv4-addr:value': 'ipv4-addr', 'ipv6-addr:value': 'ipv6-addr',
  'domain-name:value': 'domain', 'url:value': 'url',
};

/**
 * Reads a pattern made of one comparison `[<object-path> = '<string>']`. Anything else (AND/OR,
 * several observations, qualifiers, other objects) is not enforceable here: returns a reason.
 */
export function parsePattern(pattern: string): { type: IndicatorType; value: string } | string {
  const m = /^\s*\[\s*([a-z0-9-]+:[A-Za-z0-9_.'-]+)\s*=\s*'((?:[^'\\]|\\.)*)'\s*\]\s*$/.exec(pattern);
  if (!m) return 'only patterns of one comparison [object:property = \'value\'] are supported';
  const kind = PATHS[m[1]];
  if (!kind) return `object path ${m[1]} is not one Vigil enforces (file hashes, ipv4-addr, ipv6-addr, domain-name, url, x509-certificate hashes)`;
  const value = m[2].replace(/\\(['\\])/g, '$1');
  if (kind === 'ipv4-addr') return /\/(?!32$)/.test(value) ? { type: 'cidr', value } : { type: 'ipv4', value: value.replace(/\/32$/, '') };
  if (kind === 'ipv6-addr') return /\/(?!128$)/.test(value) ? { type: 'cidr', value } : { type: 'ipv6', value: value.replace(/\/128$/, '') };
  return { type: kind, value };
}

const quote = (v: string) => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

export function patternOf(ind: Pick<Indicator, 'type' | 'value'>): string {
  switch (ind.type) {
    case 'sha256': return `[file:hashes.'SHA-256' = ${quote(ind.value)}]`;
    case 'sha1': return `[file:hashes.'SHA-1' = ${quote(ind.value)}]`;
    case 'md5': return `[file:hashes.MD5 = ${quote(ind.value)}]`;
    case 'cert': return `[x509-certificate:hashes.'${ind.value.length === 64 ? 'SHA-256' : 'SHA-1'}' = ${quote(ind.value)}]`;
    case 'ipv4': return `[ipv4-addr:value = ${quote(ind.value)}]`;
    case 'ipv6': return `[ipv6-addr:value = ${quote(ind.value)}]`;
    case 'cidr': return `[${ind.value.includes(':') ? 'ipv6' : 'ipv4'}-addr:value = ${quote(ind.value)}]`;
    case 'domain': return `[domain-name:value = ${quote(ind.value)}]`;
    case 'url': return `[url:value = ${quote(/^https?:\/\//.test(ind.value) ? ind.value : `http://${ind.value}`)}]`;
  }
}

/** STIX timestamps: RFC 3339 UTC with a Z (§3.2); Vigil keeps milliseconds. */
const stamp = (iso: string) => new Date(iso).toISOString();

/**
 * A Vigil indicator as a STIX Indicator SDO. Vigil-only properties travel as custom properties
 * (x_vigil_*, §11.1) so another Vigil reads the indicator back exactly. `original` (the object it was
 * imported from) keeps every property Vigil does not model.
 */
export function indicatorToStix(ind: Indicator, original?: StixObject): StixObject {
  const out: Record<string, unknown> = {
    ...(original ?? {}),
    type: 'indicator',
    spec_version: '2.1',
    id: ind.stixId ?? original?.id ?? newStixId('indicator'),
    created: original?.created ?? stamp(ind.createdAt),
    modified: stamp(ind.updatedAt),
    name: ind.title,
    indicator_types: (original?.indicator_types as string[] | undefined) ?? [ind.action === 'allow' ? 'benign' : 'malicious-activity'],
    pattern: patternOf(ind),
    pattern_type: 'stix',
    pattern_version: '2.1',
    valid_from: original?.valid_from ?? stamp(ind.createdAt),
    x_vigil_action: ind.action,
    x_vigil_severity: ind.severity,
    x_vigil_generate_alert: ind.generateAlert,
  };
  if (ind.description) out.description = ind.description; else delete out.description;
  if (ind.expiresAt) out.valid_until = stamp(ind.expiresAt); else delete out.valid_until;
  if (ind.deviceGroups.length) out.x_vigil_device_groups = [...ind.deviceGroups]; else delete out.x_vigil_device_groups;
  if (ind.type === 'url' && !/^https?:\/\//.test(ind.value)) out.x_vigil_any_scheme = true; else delete out.x_vigil_any_scheme;
  return out as StixObject;
}

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

function defaultAction(type: IndicatorType, benign: boolean, fallback?: IndicatorAction): IndicatorAction {
  if (benign) return 'allow';
  if (fallback && ACTIONS_BY_TYPE[type].includes(fallback)) return fallback;
  return type === 'cert' ? 'block_and_remediate' : 'block';
}

/**
 * A STIX Indicator SDO as a Vigil indicator input, or a reason it cannot be enforced.
 * Action: x_vigil_action, else allow for indicator_types 'benign', else `defaultAction` (block).
 */
export function stixToInput(obj: StixObject, source: string, defaultActionFor?: IndicatorAction): IndicatorInput | string {
  if (obj.type !== 'indicator') return 'not an indicator';
  const pattern = str(obj.pattern);
  if (!pattern) return 'indicator has no pattern';
  if ((obj.pattern_type ?? 'stix') !== 'stix') return `pattern_type ${String(obj.pattern_type)} is not supported (only stix)`;
  const parsed = parsePattern(pattern);
  if (typeof parsed === 'string') return parsed;
  let value = parsed.value;
  if (parsed.type === 'url' && obj.x_vigil_any_scheme === true) value = value.replace(/^https?:\/\//, '');
  const benign = Array.isArray(obj.indicator_types) && obj.indicator_types.includes('benign');
  const action = str(obj.x_vigil_action) ?? defaultAction(parsed.type, benign, defaultActionFor);
  return {
    type: parsed.type,
    value,
    action,
    title: str(obj.name) ?? `STIX ${obj.id}`,
    description: str(obj.description),
    severity: str(obj.x_vigil_severity),
    expiresAt: str(obj.valid_until) ?? null,
    deviceGroups: Array.isArray(obj.x_vigil_device_groups) ? (obj.x_vigil_device_groups as string[]) : undefined,
    generateAlert: typeof obj.x_vigil_generate_alert === 'boolean' ? obj.x_vigil_generate_alert : undefined,
    source,
  };
}

/** Checks the shape every STIX object shares (§3: type, id; spec_version 2.1 on SDOs/SROs). Returns a reason or undefined. */
export function checkObject(obj: unknown): string | undefined {
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) return 'not a JSON object';
  const o = obj as Record<string, unknown>;
  if (typeof o.type !== 'string' || !/^[a-z][a-z0-9-]{1,249}$/.test(o.type)) return "'type' is missing or malformed";
  if (typeof o.id !== 'string' || !STIX_ID.test(o.id)) return "'id' must be <type>--<UUID>";
  if (!o.id.startsWith(`${o.type}--`)) return "'id' must start with the object's type";
  if (o.type === 'bundle') return 'a bundle cannot be nested';
  const sco = ['file', 'ipv4-addr', 'ipv6-addr', 'domain-name', 'url', 'x509-certificate', 'email-addr', 'network-traffic', 'artifact', 'process'].includes(o.type);
  if (!sco && o.type !== 'marking-definition' && o.type !== 'language-content' && o.type !== 'extension-definition') {
    if (typeof o.created !== 'string' || typeof o.modified !== 'string') return "'created' and 'modified' are required";
  }
  if (o.type === 'relationship' && (typeof o.source_ref !== 'string' || typeof o.target_ref !== 'string' || typeof o.relationship_type !== 'string')) {
    return 'a relationship needs relationship_type, source_ref and target_ref';
  }
  return undefined;
}

/** The version of an object: `modified`, else `created`, else a constant for unversioned objects (§3.6). */
export function versionOf(obj: StixObject): string {
  return str(obj.modified) ?? str(obj.created) ?? '1970-01-01T00:00:00.000Z';
}

/** ATT&CK technique ids (T1234, T1234.001) in an attack-pattern's external_references. */
export function attackIds(obj: StixObject): string[] {
  const refs = Array.isArray(obj.external_references) ? obj.external_references : [];
  return refs.flatMap((r: any) => (r && r.source_name === 'mitre-attack' && typeof r.external_id === 'string' ? [r.external_id] : []));
}
