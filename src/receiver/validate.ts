// Shape checks for SSF / CAEP / RISC data (SSF 1.0, CAEP 1.0, RFC 8417, RFC 9493). No dependencies.

export const CAEP_PREFIX = 'https://schemas.openid.net/secevent/caep/event-type/';
export const SSF_PREFIX = 'https://schemas.openid.net/secevent/ssf/event-type/';
export const RISC_PREFIX = 'https://schemas.openid.net/secevent/risc/event-type/';

const isObj = (v: unknown): v is Record<string, any> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isStr = (v: unknown): v is string => typeof v === 'string' && v !== '';
const isNum = (v: unknown) => typeof v === 'number' && Number.isFinite(v);

/** RFC 9493 and SSF §3 subject identifiers; `complex` members are simple subjects. Unknown formats pass (extensible registry). */
export function subjectErrors(s: unknown, path = 'sub_id', nested = false): string[] {
  if (!isObj(s)) return [`${path} must be an object`];
  if (!isStr(s.format)) return [`${path}.format is required`];
  const need = (...keys: string[]) => keys.filter((k) => !isStr(s[k])).map((k) => `${path}.${k} is required for format ${s.format}`);
  switch (s.format) {
    case 'account': return need('uri');
    case 'email': return need('email');
    case 'iss_sub': return need('iss', 'sub');
    case 'opaque': return need('id');
    case 'phone_number': return need('phone_number');
    case 'did': return need('url');
    case 'uri': return need('uri');
    case 'jwt_id': return need('iss', 'jti');
    case 'saml_assertion_id': return need('issuer', 'assertion_id');
    case 'ip-addresses': return Array.isArray(s['ip-addresses']) && s['ip-addresses'].every(isStr) ? [] : [`${path}.ip-addresses must be a list of strings`];
    case 'aliases':
      if (!Array.isArray(s.identifiers) || s.identifiers.length === 0) return [`${path}.identifiers must be a non-empty list`];
      return s.identifiers.flatMap((i: unknown, n: number) => (isObj(i) && i.format === 'aliases' ? [`${path}.identifiers[${n}] must not nest aliases`] : subjectErrors(i, `${path}.identifiers[${n}]`, true)));
    case 'complex': {
      if (nested) return [`${path}: complex subjects do not nest`];
      const members = Object.entries(s).filter(([k]) => k !== 'format');
      if (members.length === 0) return [`${path}: a complex subject needs members`];
      return members.flatMap(([k, v]) => subjectErrors(v, `${path}.${k}`, true));
    }
    default: return [];
  }
}

const LANG_MAP = (v: unknown, path: string) => (v === undefined || (isObj(v) && Object.values(v).every((x) => typeof x === 'string')) ? [] : [`${path} must be an object keyed by language tag`]);

const CREDENTIAL_TYPES = ['password', 'pin', 'x509', 'fido2-platform', 'fido2-roaming', 'fido-u2f', 'verifiable-credential', 'phone-voice', 'phone-sms', 'app'];
const CHANGE_TYPES = ['create', 'revoke', 'update', 'delete'];

/** Event-specific claims of one CAEP / SSF / RISC event (CAEP 1.0 §3, SSF 1.0 §8.1.4 and §8.1.5, RISC 1.0 §2). */
export function eventErrors(type: string, e: unknown): string[] {
  if (!isObj(e)) return [`event ${type} must be an object`];
  const errs: string[] = [];
  if (type.startsWith(CAEP_PREFIX)) {
    if (e.event_timestamp !== undefined && !isNum(e.event_timestamp)) errs.push('event_timestamp must be a NumericDate');
    if (e.initiating_entity !== undefined && !['admin', 'user', 'policy', 'system'].includes(e.initiating_entity)) errs.push('initiating_entity must be admin, user, policy or system');
    errs.push(...LANG_MAP(e.reason_admin, 'reason_admin'), ...LANG_MAP(e.reason_user, 'reason_user'));
    if (e.subject !== undefined) errs.push(...subjectErrors(e.subject, 'subject'));
    switch (type.slice(CAEP_PREFIX.length)) {
      case 'session-revoked': case 'session-established': case 'session-presented': break;
      case 'token-claims-change': if (!isObj(e.claims)) errs.push('claims is required (object)'); break;
      case 'credential-change':
        if (!CREDENTIAL_TYPES.includes(e.credential_type) && !isStr(e.credential_type)) errs.push('credential_type is required');
        if (!CHANGE_TYPES.includes(e.change_type)) errs.push(`change_type must be one of ${CHANGE_TYPES.join(', ')}`);
        break;
      case 'assurance-level-change':
        if (!isStr(e.namespace)) errs.push('namespace is required');
        if (!isStr(e.current_level)) errs.push('current_level is required');
        if (e.change_direction !== undefined && !['increase', 'decrease'].includes(e.change_direction)) errs.push('change_direction must be increase or decrease');
        break;
      case 'device-compliance-change':
        for (const k of ['previous_status', 'current_status']) if (!['compliant', 'not-compliant'].includes(e[k])) errs.push(`${k} must be compliant or not-compliant`);
        break;
      case 'risk-level-change':
        if (!isStr(e.principal)) errs.push('principal is required');
        if (!['LOW', 'MEDIUM', 'HIGH'].includes(e.current_level)) errs.push('current_level must be LOW, MEDIUM or HIGH');
        if (e.previous_level !== undefined && !['LOW', 'MEDIUM', 'HIGH'].includes(e.previous_level)) errs.push('previous_level must be LOW, MEDIUM or HIGH');
        break;
      default: break; // unknown CAEP events: nothing specific to check
    }
  } else if (type === `${SSF_PREFIX}verification`) {
    if (e.state !== undefined && typeof e.state !== 'string') errs.push('state must be a string');
  } else if (type === `${SSF_PREFIX}stream-updated`) {
    if (!['enabled', 'paused', 'disabled'].includes(e.status)) errs.push('status must be enabled, paused or disabled');
  } else if (type.startsWith(RISC_PREFIX)) {
    if (e.subject !== undefined) errs.push(...subjectErrors(e.subject, 'subject'));
    const name = type.slice(RISC_PREFIX.length);
    if (name === 'credential-compromise' && !isStr(e.credential_type)) errs.push('credential_type is required');
    if (name === 'account-disabled' && e.reason !== undefined && !['hijacking', 'bulk-account'].includes(e.reason)) errs.push('reason must be hijacking or bulk-account');
  }
  return errs;
}

/**
 * A SET payload under the SSF profile of RFC 8417: iss, iat, jti, events with exactly one event,
 * sub_id (or a `subject` inside a CAEP/RISC event), and no `sub` nor `exp`.
 */
export function setPayloadErrors(p: unknown, options: { requireSubId?: boolean } = {}): string[] {
  if (!isObj(p)) return ['the SET payload must be a JSON object'];
  const errs: string[] = [];
  if (!isStr(p.iss)) errs.push('iss is required');
  if (!isNum(p.iat)) errs.push('iat is required (NumericDate)');
  if (!isStr(p.jti)) errs.push('jti is required');
  if ('sub' in p) errs.push('sub must not be present in a SET');
  if ('exp' in p) errs.push('exp must not be present in a SET');
  if (p.aud !== undefined && !isStr(p.aud) && !(Array.isArray(p.aud) && p.aud.every(isStr))) errs.push('aud must be a string or a list of strings');
  if (p.txn !== undefined && !isStr(p.txn)) errs.push('txn must be a string');
  if (p.toe !== undefined && !isNum(p.toe)) errs.push('toe must be a NumericDate');
  if (!isObj(p.events)) return [...errs, 'events is required (object)'];
  const types = Object.keys(p.events);
  if (types.length !== 1) errs.push(`events must hold exactly one event, found ${types.length}`);
  for (const t of types) errs.push(...eventErrors(t, p.events[t]));
  const inner = types.length === 1 && isObj(p.events[types[0]]) ? p.events[types[0]].subject : undefined;
  if (p.sub_id !== undefined) errs.push(...subjectErrors(p.sub_id));
  else if ((options.requireSubId ?? true) && inner === undefined) errs.push('sub_id is required');
  return errs;
}

/** SSF 1.0 §7.1 transmitter configuration metadata. */
export function metadataErrors(m: unknown): string[] {
  if (!isObj(m)) return ['metadata must be a JSON object'];
  const errs: string[] = [];
  if (!isStr(m.issuer) || !URL.canParse(m.issuer) || /[?#]/.test(m.issuer)) errs.push('issuer must be a URL without query or fragment');
  for (const k of ['jwks_uri', 'configuration_endpoint', 'status_endpoint', 'add_subject_endpoint', 'remove_subject_endpoint', 'verification_endpoint']) {
    if (m[k] !== undefined && (!isStr(m[k]) || !URL.canParse(m[k]))) errs.push(`${k} must be a URL`);
  }
  if (m.spec_version !== undefined && !isStr(m.spec_version)) errs.push('spec_version must be a string');
  if (m.delivery_methods_supported !== undefined && !(Array.isArray(m.delivery_methods_supported) && m.delivery_methods_supported.every(isStr))) errs.push('delivery_methods_supported must be a list of URIs');
  if (m.critical_subject_members !== undefined && !(Array.isArray(m.critical_subject_members) && m.critical_subject_members.every(isStr))) errs.push('critical_subject_members must be a list of strings');
  if (m.authorization_schemes !== undefined && !(Array.isArray(m.authorization_schemes) && m.authorization_schemes.every((a: unknown) => isObj(a) && isStr(a.spec_urn)))) errs.push('authorization_schemes must be a list of {spec_urn}');
  if (m.default_subjects !== undefined && !['ALL', 'NONE'].includes(m.default_subjects)) errs.push('default_subjects must be ALL or NONE');
  return errs;
}

/** SSF 1.0 §8.1.1 stream configuration (as a transmitter returns it, or the receiver-set part of a request). */
export function streamConfigErrors(c: unknown, options: { fromTransmitter?: boolean } = {}): string[] {
  if (!isObj(c)) return ['stream configuration must be a JSON object'];
  const errs: string[] = [];
  if (options.fromTransmitter) {
    if (!isStr(c.stream_id)) errs.push('stream_id is required');
    if (!isStr(c.iss)) errs.push('iss is required');
    if (!isStr(c.aud) && !(Array.isArray(c.aud) && c.aud.every(isStr))) errs.push('aud is required');
  }
  for (const k of ['events_supported', 'events_requested', 'events_delivered']) {
    if (c[k] !== undefined && !(Array.isArray(c[k]) && c[k].every(isStr))) errs.push(`${k} must be a list of URIs`);
  }
  if (c.delivery !== undefined) {
    if (!isObj(c.delivery) || !isStr(c.delivery.method)) errs.push('delivery.method is required');
    else if (c.delivery.endpoint_url !== undefined && !isStr(c.delivery.endpoint_url)) errs.push('delivery.endpoint_url must be a URL');
  }
  if (c.min_verification_interval !== undefined && !Number.isInteger(c.min_verification_interval)) errs.push('min_verification_interval must be an integer');
  if (c.inactivity_timeout !== undefined && !Number.isInteger(c.inactivity_timeout)) errs.push('inactivity_timeout must be an integer');
  if (c.description !== undefined && typeof c.description !== 'string') errs.push('description must be a string');
  return errs;
}
