// Generated incident names, in the manner of Defender's ("Multi-stage incident involving Execution &
// Persistence on 2 devices"; manage-incidents.md). An analyst's own name wins until a merge.

/** MITRE ATT&CK enterprise tactics in kill-chain order, by normalised key. */
const TACTICS: readonly (readonly [string, string])[] = [
  ['reconnaissance', 'Reconnaissance'], ['resourcedevelopment', 'Resource development'], ['initialaccess', 'Initial access'],
  ['execution', 'Execution'], ['persistence', 'Persistence'], ['privilegeescalation', 'Privilege escalation'],
  ['defenseevasion', 'Defense evasion'], ['credentialaccess', 'Credential access'], ['discovery', 'Discovery'],
  ['lateralmovement', 'Lateral movement'], ['collection', 'Collection'], ['commandandcontrol', 'Command and control'],
  ['exfiltration', 'Exfiltration'], ['impact', 'Impact'],
];
const TACTIC_IDS: Readonly<Record<string, string>> = {
  TA0043: 'reconnaissance', TA0042: 'resourcedevelopment', TA0001: 'initialaccess', TA0002: 'execution', TA0003: 'persistence',
  TA0004: 'privilegeescalation', TA0005: 'defenseevasion', TA0006: 'credentialaccess', TA0007: 'discovery',
  TA0008: 'lateralmovement', TA0009: 'collection', TA0011: 'commandandcontrol', TA0010: 'exfiltration', TA0040: 'impact',
};
const LABEL = new Map(TACTICS);

/** 'privilege-escalation', 'Privilege Escalation', 'attack.privilege_escalation', 'TA0004' → 'privilegeescalation'. */
export function tacticKey(raw: string): string {
  const id = TACTIC_IDS[raw.toUpperCase()];
  if (id) return id;
  return raw.toLowerCase().replace(/^attack\./, '').replace(/[^a-z]/g, '');
}

export interface NameInput {
  /** Normalised tactic keys (see tacticKey). */
  readonly tactics: Iterable<string>;
  readonly devices: number;
  readonly users: number;
  readonly mailboxes: number;
  /** Distinct alert titles, at most two needed. */
  readonly titles: readonly string[];
  readonly sources: number;
}

const count = (n: number, one: string, many: string) => (n === 1 ? `one ${one}` : `${n} ${many}`);

export function incidentName(input: NameInput): string {
  // Known tactics in kill-chain order (TACTICS is in that order), each once.
  const held = input.tactics instanceof Set ? input.tactics as ReadonlySet<string> : new Set(input.tactics);
  const tactics: string[] = [];
  for (const [key] of TACTICS) if (held.has(key)) tactics.push(key);
  const scope = input.devices > 0 ? ` on ${count(input.devices, 'device', 'devices')}`
    : input.users > 0 ? ` involving ${count(input.users, 'user', 'users')}`
    : input.mailboxes > 0 ? ` involving ${count(input.mailboxes, 'mailbox', 'mailboxes')}`
    : '';
  const sources = input.sources > 1 ? ' reported by multiple sources' : '';
  let head: string;
  if (tactics.length >= 2) {
    const labels = tactics.map((t) => LABEL.get(t)!);
    const listed = labels.length <= 3 ? labels : [...labels.slice(0, 2), `${labels.length - 2} more tactics`];
    head = `Multi-stage incident involving ${listed.slice(0, -1).join(', ')} & ${listed[listed.length - 1]}`;
    if (scope.startsWith(' involving')) return `${head}${scope.replace(' involving', ' affecting')}${sources}`;
  } else if (input.titles.length === 1) {
    head = input.titles[0];
  } else if (tactics.length === 1) {
    head = `${LABEL.get(tactics[0])} incident`;
  } else {
    head = 'Multiple alerts';
  }
  return `${head}${scope}${sources}`;
}
