// Every JSON example in the SSF 1.0, CAEP 1.0 and CAEP interoperability profile texts parses and
// validates against the receiver's validators (and the transmitter's subject check).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { eventErrors, metadataErrors, setPayloadErrors, streamConfigErrors, subjectErrors } from '../src/receiver/index.js';
import { validSubject } from '../src/identity/index.js';

const DIR = fileURLToPath(new URL('../../shared/reference/shared-signals/', import.meta.url));
const FILES = ['openid-caep-1_0.md', 'openid-sharedsignals-framework-1_0.md', 'openid-caep-interoperability-profile-1_0.md'];

interface Example { file: string; line: number; lang: string; json: unknown }

function examples(file: string): { found: Example[]; unparsed: string[] } {
  const text = readFileSync(DIR + file, 'utf8');
  const found: Example[] = [];
  const unparsed: string[] = [];
  const re = /^~~~ *([a-z]*)\n([\s\S]*?)^~~~/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const [, lang, block] = m;
    const line = text.slice(0, m.index).split('\n').length;
    if (lang === 'ascii') continue;
    let body = block.trim();
    if (lang === 'http') {
      const split = block.indexOf('\n\n');
      body = split < 0 ? '' : block.slice(split + 2).trim();
      if (body === '') continue; // a request or response without a body
    }
    try {
      found.push({ file, line, lang, json: JSON.parse(body) });
    } catch {
      try {
        found.push({ file, line, lang, json: JSON.parse(`{${body}}`) }); // a member fragment such as "sub_id": {…}
      } catch {
        unparsed.push(`${file}:${line}`);
      }
    }
  }
  return { found, unparsed };
}

/** Picks the validator by shape; unknown shapes are reported, so every example is checked by something. */
function validate(json: unknown): { kind: string; errors: string[] } {
  if (Array.isArray(json)) return { kind: 'stream list', errors: json.flatMap((c) => streamConfigErrors(c, { fromTransmitter: true })) };
  const o = json as Record<string, any>;
  const keys = Object.keys(o).sort().join(',');
  if ('events' in o) return { kind: 'SET', errors: setPayloadErrors(o) };
  if ('jwks_uri' in o || 'delivery_methods_supported' in o) return { kind: 'metadata', errors: metadataErrors(o) };
  if (keys === 'spec_version') return { kind: 'metadata fragment', errors: metadataErrors({ issuer: 'https://tr.example.com', ...o }) };
  if (keys === 'spec_urn') return { kind: 'authorization scheme', errors: metadataErrors({ issuer: 'https://tr.example.com', authorization_schemes: [o] }) };
  if (keys === 'alg,typ') return { kind: 'SET header', errors: o.typ === 'secevent+jwt' ? [] : [`typ ${o.typ}`] };
  if (keys === 'sub_id') return { kind: 'subject', errors: [...subjectErrors(o.sub_id), ...(validSubject(o.sub_id) ? [] : ['transmitter rejects it'])] };
  if ('format' in o) return { kind: 'subject', errors: [...subjectErrors(o), ...(validSubject(o) ? [] : ['transmitter rejects it'])] };
  if ('reason_admin' in o || 'reason_user' in o) return { kind: 'event claims', errors: eventErrors('https://schemas.openid.net/secevent/caep/event-type/session-revoked', o) };
  if ('subject' in o && 'stream_id' in o) return { kind: 'subject request', errors: subjectErrors(o.subject, 'subject') };
  if ('status' in o && 'stream_id' in o) return { kind: 'stream status', errors: ['enabled', 'paused', 'disabled'].includes(o.status) ? [] : [`status ${o.status}`] };
  if (keys === 'state,stream_id') return { kind: 'verification request', errors: typeof o.state === 'string' ? [] : ['state'] };
  if ('events_requested' in o || 'delivery' in o || 'events_supported' in o) return { kind: 'stream config', errors: streamConfigErrors(o, { fromTransmitter: 'iss' in o }) };
  return { kind: 'unknown', errors: [`no validator for keys ${keys}`] };
}

const present = existsSync(DIR);

test('the spec texts hold the expected number of JSON examples, all parseable', { skip: present ? false : `spec texts not found at ${DIR}` }, () => {
  const counts = FILES.map((f) => examples(f));
  assert.deepEqual(counts.map((c) => c.unparsed), [[], [], []]);
  assert.deepEqual(counts.map((c) => c.found.length), [15, 41, 1]);
});

for (const file of FILES) {
  test(`every JSON example in ${file} validates`, { skip: present ? false : `spec texts not found at ${DIR}` }, () => {
    const failures: string[] = [];
    const kinds = new Map<string, number>();
    for (const ex of examples(file).found) {
      const { kind, errors } = validate(ex.json);
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      if (errors.length) failures.push(`${file}:${ex.line} (${kind}): ${errors.join('; ')}`);
    }
    assert.deepEqual(failures, []);
    assert.equal(kinds.get('unknown'), undefined);
  });
}

test('CAEP examples cover every CAEP event type Vigil transmits, each accepted by the validators', { skip: present ? false : 'spec texts not found' }, () => {
  const types = new Set<string>();
  for (const ex of examples('openid-caep-1_0.md').found) {
    const events = (ex.json as any).events;
    if (events) for (const t of Object.keys(events)) types.add(t.split('/').pop()!);
  }
  for (const t of ['session-revoked', 'device-compliance-change', 'risk-level-change', 'credential-change']) assert.ok(types.has(t), t);
});

test('the validators do reject broken examples (they can fail)', () => {
  const set = { iss: 'https://idp.example.com/', jti: 'x', iat: 1, sub_id: { format: 'email', email: 'a@b' }, events: {
    'https://schemas.openid.net/secevent/caep/event-type/device-compliance-change': { previous_status: 'compliant', current_status: 'bad' } } };
  assert.deepEqual(setPayloadErrors(set), ['current_status must be compliant or not-compliant']);
  assert.deepEqual(setPayloadErrors({ ...set, sub: 'x', events: {} }), ['sub must not be present in a SET', 'events must hold exactly one event, found 0']);
  assert.deepEqual(subjectErrors({ format: 'iss_sub', iss: 'x' }), ['sub_id.sub is required for format iss_sub']);
  assert.deepEqual(metadataErrors({ issuer: 'https://x/?q=1' }), ['issuer must be a URL without query or fragment']);
});
