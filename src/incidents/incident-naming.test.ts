import { test } from 'node:test';
import assert from 'node:assert/strict';
import { incidentName, tacticKey } from './incident-naming.js';
import { RiskTracker } from './risk-tracker.js';

test('two tactics on two devices name a multi-stage incident, in kill-chain order', () => {
  const name = incidentName({ tactics: [tacticKey('persistence'), tacticKey('Execution')], devices: 2, users: 1, mailboxes: 0, titles: ['a', 'b'], sources: 1 });
  assert.equal(name, 'Multi-stage incident involving Execution & Persistence on 2 devices');
});

test('tactic spellings and ATT&CK ids normalise to one key', () => {
  assert.equal(tacticKey('privilege-escalation'), 'privilegeescalation');
  assert.equal(tacticKey('attack.privilege_escalation'), 'privilegeescalation');
  assert.equal(tacticKey('TA0004'), 'privilegeescalation');
});

test('a single alert keeps its title and says where', () => {
  assert.equal(incidentName({ tactics: ['execution'], devices: 1, users: 0, mailboxes: 0, titles: ['Mimikatz detected'], sources: 1 }), 'Mimikatz detected on one device');
  assert.equal(incidentName({ tactics: [], devices: 0, users: 3, mailboxes: 0, titles: ['x', 'y'], sources: 2 }), 'Multiple alerts involving 3 users reported by multiple sources');
  assert.equal(incidentName({ tactics: ['initialaccess', 'execution', 'persistence', 'impact'], devices: 1, users: 0, mailboxes: 0, titles: ['x'], sources: 1 }),
    'Multi-stage incident involving Initial access, Execution & 2 more tactics on one device');
});

test('risk is the highest severity among active alerts and changes are reported once', () => {
  const risk = new RiskTracker();
  assert.deepEqual(risk.adjust('d', 'low', 1), { key: 'd', old: 'none', new: 'low' });
  assert.equal(risk.adjust('d', 'low', 1), undefined);
  assert.deepEqual(risk.adjust('d', 'high', 1), { key: 'd', old: 'low', new: 'high' });
  assert.deepEqual(risk.adjust('d', 'high', -1), { key: 'd', old: 'high', new: 'low' });
  assert.equal(risk.adjust('d', 'low', -1), undefined);
  assert.deepEqual(risk.adjust('d', 'low', -1), { key: 'd', old: 'low', new: 'none' });
  assert.equal(risk.adjust('d', 'low', -1), undefined);
  assert.equal(risk.level('d'), 'none');
});
