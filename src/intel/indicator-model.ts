// Indicators of compromise: the model, what each type accepts, validation with reasons, and precedence.
// Behaviour follows Defender's custom indicators (shared/reference/defender-xdr.md §10), with CIDR ranges
// and compressed IPv6 as Vigil extensions.
import { domainToASCII } from 'node:url';
import { VigilError } from '../errors/index.js';
import { SEVERITIES, type Severity } from '../schema/index.js';
import { formatIpv4, formatIpv6, parseCidr, parseIpv4, parseIpv6 } from './ip.js';

export type IndicatorType = 'sha256' | 'sha1' | 'md5' | 'ipv4' | 'ipv6' | 'cidr' | 'domain' | 'url' | 'cert';
export const INDICATOR_TYPES: readonly IndicatorType[] = ['sha256', 'sha1', 'md5', 'ipv4', 'ipv6', 'cidr', 'domain', 'url', 'cert'];

export type IndicatorAction = 'allow' | 'audit' | 'warn' | 'block' | 'block_and_remediate';
export const INDICATOR_ACTIONS: readonly IndicatorAction[] = ['allow', 'audit', 'warn', 'block', 'block_and_remediate'];

export type IndicatorState = 'active' | 'expired' | 'deleted';

/** Actions allowed per type, as Defender's indicator pages document them (defender-xdr.md §10, "UI actions by type"). */
export const ACTIONS_BY_TYPE: Readonly<Record<IndicatorType, readonly IndicatorAction[]>> = {
  sha256: ['allow', 'audit', 'warn', 'block', 'block_and_remediate'],
  sha1: ['allow', 'audit', 'warn', 'block', 'block_and_remediate'],
  md5: ['allow', 'audit', 'warn', 'block', 'block_and_remediate'],
  ipv4: ['allow', 'audit', 'warn', 'block'],
  ipv6: ['allow', 'audit', 'warn', 'block'],
  cidr: ['allow', 'audit', 'warn', 'block'],
  domain: ['allow', 'audit', 'warn', 'block'],
  url: ['allow', 'audit', 'warn', 'block'],
  cert: ['allow', 'block_and_remediate'],
};

/** An indicator as stored and served. */
export interface Indicator {
  readonly id: string;
  readonly type: IndicatorType;
  /** Canonical form: lower-case hex, canonical IP text, network/prefix, ASCII lower-case domain, normalised URL. */
  readonly value: string;
  readonly action: IndicatorAction;
  readonly title: string;
  readonly description: string;
  readonly severity: Severity;
  /** ISO 8601 UTC; null = never expires. */
  readonly expiresAt: string | null;
  /** Device-group names the indicator applies to; empty = all devices (and mailboxes). */
  readonly deviceGroups: readonly string[];
  readonly generateAlert: boolean;
  readonly source: string;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly incidentId: string | null;
  readonly externalId: string | null;
  readonly recommendedActions: string | null;
  /** The STIX indicator id this came from or is published as (indicator--uuid). */
  readonly stixId: string | null;
  readonly state: IndicatorState;
  /** Feed version of the indicator's last change. */
  readonly version: number;
}

/** What a caller supplies to create or replace an indicator (API body, CSV row, JSON import element). */
export interface IndicatorInput {
  readonly type: string;
  readonly value: string;
  readonly action: string;
  readonly title: string;
  readonly description?: string;
  readonly severity?: string;
  readonly expiresAt?: string | null;
  readonly deviceGroups?: readonly string[];
  readonly generateAlert?: boolean;
  readonly source?: string;
  readonly incidentId?: string | null;
  readonly externalId?: string | null;
  readonly recommendedActions?: string | null;
}

/** A validated, canonical input. */
export interface CleanInput {
  readonly type: IndicatorType;
  readonly value: string;
  readonly action: IndicatorAction;
  readonly title: string;
  readonly description: string;
  readonly severity: Severity;
  readonly expiresAt: string | null;
  readonly deviceGroups: readonly string[];
  readonly generateAlert: boolean;
  readonly source: string;
  readonly incidentId: string | null;
  readonly externalId: string | null;
  readonly recommendedActions: string | null;
}

export const invalid = (field: string, message: string) =>
  new VigilError('invalid_indicator', 400, `${field}: ${message}`, { field });

/** Defender's type names (ti-indicator API) and a few obvious spellings, to Vigil's. */
const TYPE_ALIASES: Record<string, IndicatorType | 'ip'> = {
  sha256: 'sha256', filesha256: 'sha256', 'sha-256': 'sha256',
  sha1: 'sha1', filesha1: 'sha1', 'sha-1': 'sha1',
  md5: 'md5', filemd5: 'md5',
  ipv4: 'ipv4', ipv6: 'ipv6', ip: 'ip', ipaddress: 'ip', cidr: 'cidr',
  domain: 'domain', domainname: 'domain',
  url: 'url',
  cert: 'cert', certificate: 'cert', certificatethumbprint: 'cert',
};

/** Defender API action names, legacy ones included (Alert = Audit, AlertAndBlock = Block and remediate). */
const ACTION_ALIASES: Record<string, IndicatorAction> = {
  allow: 'allow', allowed: 'allow',
  audit: 'audit', alert: 'audit',
  warn: 'warn',
  block: 'block', blockexecution: 'block',
  block_and_remediate: 'block_and_remediate', blockandremediate: 'block_and_remediate', alertandblock: 'block_and_remediate',
};

const HEX = /^[0-9a-f]+$/;

/** Canonical value of `raw` for `type`, or an error naming `value` with the reason. */
export function normaliseValue(type: IndicatorType, raw: string): string {
  const text = raw.trim();
  if (text === '') throw invalid('value', 'is empty');
  switch (type) {
    case 'sha256': case 'sha1': case 'md5': case 'cert': {
      const want = type === 'sha256' ? [64] : type === 'sha1' ? [40] : type === 'md5' ? [32] : [40, 64];
      const hex = text.toLowerCase();
      if (!HEX.test(hex)) throw invalid('value', `a ${type} is hexadecimal (0-9, a-f)`);
      if (!want.includes(hex.length)) throw invalid('value', `a ${type} has ${want.join(' or ')} hex digits, this has ${hex.length}`);
      return hex;
    }
    case 'ipv4': {
      if (text.includes('/')) throw invalid('value', "an address range needs type 'cidr'");
      const n = parseIpv4(text);
      if (n === undefined) throw invalid('value', 'an IPv4 address is four decimal numbers 0-255 without leading zeros, e.g. 203.0.113.7');
      return formatIpv4(n);
    }
    case 'ipv6': {
      if (text.includes('/')) throw invalid('value', "an address range needs type 'cidr'");
      const n = parseIpv6(text);
      if (n === undefined) throw invalid('value', 'not an IPv6 address');
      if (n >> 32n === 0xffffn) throw invalid('value', `an IPv4-mapped address is an ipv4 indicator: ${formatIpv4(Number(n & 0xffffffffn))}`);
      return formatIpv6(n);
    }
    case 'cidr': {
      const parsed = parseCidr(text);
      if (typeof parsed === 'string') throw invalid('value', parsed);
      const net = parsed.v === 4 ? formatIpv4(parsed.network as number) : formatIpv6(parsed.network as bigint);
      return `${net}/${parsed.prefix}`;
    }
    case 'domain':
      return normaliseDomain(text);
    case 'url':
      return normaliseUrl(text).value;
  }
}

function normaliseDomain(text: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) throw invalid('value', "a domain has no scheme; use type 'url' for a URL");
  if (text.includes('*')) throw invalid('value', 'wildcards are not allowed: a domain already matches all its subdomains');
  if (/[/?#@:\s]/.test(text)) throw invalid('value', "a domain is a host name only (no path, port, user or spaces); use type 'url' for a URL");
  const lower = text.toLowerCase().replace(/\.$/, '');
  const ascii = domainToASCII(lower);
  if (!ascii) throw invalid('value', 'not a valid domain name');
  if (parseIpv4(ascii) !== undefined) throw invalid('value', "an IP address is an 'ipv4' indicator, not a domain");
  if (ascii.length > 253) throw invalid('value', 'a domain name is at most 253 characters');
  const labels = ascii.split('.');
  if (labels.length < 2) throw invalid('value', 'a domain needs at least two labels (a top-level domain alone would match too much)');
  for (const label of labels) {
    if (!/^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/.test(label)) {
      throw invalid('value', `label '${label}' is not a valid DNS label (1-63 letters, digits or hyphens, no hyphen at either end)`);
    }
  }
  return ascii;
}

/** A URL split for matching: the key `host[:port]/path[?query]` (no trailing slash) and the scheme if one was given. */
export interface UrlParts {
  readonly value: string;
  readonly key: string;
  readonly scheme: string | null;
}

/** Normalised URL indicator: scheme and host lower-cased, default port, fragment and trailing slash dropped. */
export function normaliseUrl(text: string): UrlParts {
  if (/\s/.test(text)) throw invalid('value', 'a URL has no spaces');
  const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text);
  let url: URL;
  try {
    url = new URL(hasScheme ? text : `http://${text}`);
  } catch {
    throw invalid('value', 'not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid('value', 'only http and https URLs can be indicators');
  if (!url.hostname) throw invalid('value', 'a URL needs a host');
  if (url.username || url.password) throw invalid('value', 'a URL indicator has no user name or password');
  const key = urlKey(url.host, url.pathname, url.search);
  const scheme = hasScheme ? url.protocol.slice(0, -1) : null;
  return { value: scheme ? `${scheme}://${key}` : key, key, scheme };
}

/** `host[:port]` + path without trailing slash + query. */
export function urlKey(host: string, pathname: string, search: string): string {
  let path = pathname;
  while (path.length > 0 && path.endsWith('/')) path = path.slice(0, -1);
  return host + path + (search.length > 1 ? search : '');
}

function stringField(body: Record<string, unknown>, field: string, max: number, required: boolean): string | undefined {
  const v = body[field];
  if (v === undefined || v === null || v === '') {
    if (required) throw invalid(field, 'is required');
    return undefined;
  }
  if (typeof v !== 'string') throw invalid(field, 'must be a string');
  if (v.length > max) throw invalid(field, `is at most ${max} characters`);
  return v;
}

/** Resolves a type name, guessing ipv4/ipv6 for Defender's generic IpAddress from the value. */
export function resolveType(rawType: string, value: string): IndicatorType {
  const alias = TYPE_ALIASES[rawType.trim().toLowerCase()];
  if (!alias) throw invalid('type', `must be one of ${INDICATOR_TYPES.join(', ')}`);
  if (alias !== 'ip') return alias;
  if (value.includes('/')) return 'cidr';
  return value.includes(':') ? 'ipv6' : 'ipv4';
}

export function resolveAction(rawAction: string): IndicatorAction {
  const action = ACTION_ALIASES[rawAction.trim().toLowerCase().replace(/[\s-]/g, '_').replace(/^block_?and_?remediate$/, 'block_and_remediate')];
  if (!action) throw invalid('action', `must be one of ${INDICATOR_ACTIONS.join(', ')}`);
  return action;
}

/**
 * Validates and canonicalises an indicator body. Throws VigilError 400 'invalid_indicator' whose message
 * names the field and says why; `detail.field` carries the field name.
 */
export function validateIndicator(raw: unknown, now: number): CleanInput {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw invalid('body', 'must be a JSON object');
  const body = raw as Record<string, unknown>;
  const rawValue = stringField(body, 'value', 4096, true)!;
  const type = resolveType(stringField(body, 'type', 64, true)!, rawValue);
  const value = normaliseValue(type, rawValue);
  const action = resolveAction(stringField(body, 'action', 64, true)!);
  if (!ACTIONS_BY_TYPE[type].includes(action)) {
    throw invalid('action', `'${action}' is not allowed for ${type} indicators; allowed: ${ACTIONS_BY_TYPE[type].join(', ')}`);
  }
  const title = stringField(body, 'title', 200, true)!.trim();
  if (title === '') throw invalid('title', 'is required');
  const description = stringField(body, 'description', 10_000, false) ?? '';
  const severityText = stringField(body, 'severity', 32, false)?.toLowerCase() ?? (action === 'allow' ? 'informational' : 'medium');
  if (!(SEVERITIES as readonly string[]).includes(severityText)) throw invalid('severity', `must be one of ${SEVERITIES.join(', ')}`);
  let expiresAt: string | null = null;
  const rawExpiry = body.expiresAt ?? body.expirationTime;
  if (rawExpiry !== undefined && rawExpiry !== null && rawExpiry !== '') {
    if (typeof rawExpiry !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(rawExpiry)) {
      throw invalid('expiresAt', 'must be an ISO 8601 date-time, e.g. 2030-01-31T00:00:00Z');
    }
    const ms = Date.parse(rawExpiry);
    if (!Number.isFinite(ms)) throw invalid('expiresAt', 'is not a valid date-time');
    if (ms <= now) throw invalid('expiresAt', 'is in the past');
    expiresAt = new Date(ms).toISOString();
  }
  let deviceGroups: string[] = [];
  if (body.deviceGroups !== undefined && body.deviceGroups !== null) {
    if (!Array.isArray(body.deviceGroups) || body.deviceGroups.some((g) => typeof g !== 'string' || g.trim() === '' || g.length > 128)) {
      throw invalid('deviceGroups', 'must be a list of device-group names (non-empty strings up to 128 characters)');
    }
    if (body.deviceGroups.length > 100) throw invalid('deviceGroups', 'at most 100 groups');
    deviceGroups = [...new Set((body.deviceGroups as string[]).map((g) => g.trim()))].sort();
  }
  let generateAlert = action !== 'allow';
  if (body.generateAlert !== undefined && body.generateAlert !== null) {
    if (typeof body.generateAlert !== 'boolean') throw invalid('generateAlert', 'must be true or false');
    generateAlert = body.generateAlert;
  }
  if (action === 'allow' && generateAlert) throw invalid('generateAlert', 'an allow indicator cannot generate alerts');
  if (action === 'audit' && !generateAlert) throw invalid('generateAlert', 'an audit indicator always generates an alert (that is what audit does)');
  return {
    type, value, action, title, description, severity: severityText as Severity, expiresAt, deviceGroups, generateAlert,
    source: stringField(body, 'source', 200, false) ?? 'user',
    incidentId: stringField(body, 'incidentId', 128, false) ?? null,
    externalId: stringField(body, 'externalId', 200, false) ?? null,
    recommendedActions: stringField(body, 'recommendedActions', 10_000, false) ?? null,
  };
}

/** Entity kind the indicator type describes. */
export function entityKindOf(type: IndicatorType): 'file' | 'ip' | 'url' | 'cert' {
  switch (type) {
    case 'sha256': case 'sha1': case 'md5': return 'file';
    case 'ipv4': case 'ipv6': case 'cidr': return 'ip';
    case 'domain': case 'url': return 'url';
    case 'cert': return 'cert';
  }
}

/**
 * Precedence between indicators that match the same entity, strongest first (defender-xdr.md §10 "Conflicts"):
 * 1. an indicator scoped to the device's group beats one for all devices;
 * 2. the more specific match wins: SHA-256 > SHA-1 > MD5 > certificate; exact IP > longer CIDR prefix;
 *    URL > domain, longer URL path > shorter, deeper subdomain > its parent;
 * 3. then by action in Defender's evaluation order: IoC block/warn before IoC allow, allow before audit
 *    (block_and_remediate > block > warn > allow > audit);
 * 4. then the newest (highest version), so the outcome never depends on insertion order.
 */
export const ACTION_RANK: Readonly<Record<IndicatorAction, number>> = {
  block_and_remediate: 5, block: 4, warn: 3, allow: 2, audit: 1,
};
