import { createHash } from 'node:crypto';
import { TABLES, type CanonicalRow, type TableName } from '../schema/index.js';
import { DEVICE_EVENTS_FIELDS, LOGON_TYPES, WINDOWS_EVENT_MAPPINGS, type WindowsEventMapping } from './windows-mapping.js';

/** A Windows event in canonical form: its table, its row, and (as `row._Raw`) every original field, flattened. */
export interface NormalisedEvent {
  readonly table: TableName;
  readonly row: CanonicalRow;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/** evtx_dump puts a value with attributes as { '#text': v, '#attributes': {…} }. */
function scalar(value: unknown): unknown {
  return isObject(value) && '#text' in value ? value['#text'] : value;
}

/** System fields joined with '_' (Provider_Name, Execution_ProcessID), as Sigma's Windows taxonomy names them. */
function flattenSystem(node: unknown, prefix: string, out: Json): void {
  if (!isObject(node)) {
    if (prefix) out[prefix] = node;
    return;
  }
  if ('#text' in node) out[prefix] = node['#text'];
  for (const [key, value] of Object.entries(node)) {
    if (key === '#text') continue;
    const name = key === '#attributes' ? prefix : prefix ? `${prefix}_${key}` : key;
    flattenSystem(value, name, out);
  }
}

/** EventData/UserData leaves by their own names; `<Data Name="X">` becomes X; spaces are removed. */
function flattenData(node: unknown, out: Json): void {
  if (!isObject(node)) return;
  for (const [key, value] of Object.entries(node)) {
    if (key === '#attributes') continue;
    if (key === 'Data' && Array.isArray(value)) {
      for (const item of value) {
        if (isObject(item) && isObject(item['#attributes']) && typeof item['#attributes'].Name === 'string') {
          out[item['#attributes'].Name.replace(/\s+/g, '')] = item['#text'] ?? null;
        }
      }
      continue;
    }
    if (isObject(value) && !('#text' in value)) flattenData(value, out);
    else out[key.replace(/\s+/g, '')] = scalar(value);
  }
}

/** Flattens an evtx_dump event (`{ Event: { System, EventData | UserData } }`) into one level. */
export function flattenWindowsEvent(event: unknown): Json | undefined {
  const root = isObject(event) && isObject(event.Event) ? event.Event : event;
  if (!isObject(root) || !isObject(root.System)) return undefined;
  const flat: Json = {};
  flattenSystem(root.System, '', flat);
  flattenData(root.EventData, flat);
  flattenData(root.UserData, flat);
  if (flat.EventID !== undefined && typeof flat.EventID !== 'number' && /^\d+$/.test(String(flat.EventID))) {
    flat.EventID = Number(flat.EventID);
  }
  return flat;
}

/**
 * A 52-bit FNV-1a of the text (two 32-bit lanes with different offsets): a ReportId stable for the same
 * record, cheap enough for every event. Not cryptographic, and it need not be: ids only deduplicate retries.
 */
function hash52(text: string): number {
  let a = 0x811c9dc5;
  let b = 0x050c5d1f;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (a >>> 7);
  }
  return (a >>> 0) * 0x100000 + ((b >>> 0) & 0xfffff);
}

const deviceIds = new Map<string, string>();

/** Defender's DeviceId is 40 hex digits; a Windows event names only its computer, so derive one from it. */
export function deviceIdFor(computer: string): string {
  const name = computer.toLowerCase();
  let id = deviceIds.get(name);
  if (!id) {
    id = createHash('sha1').update(name).digest('hex');
    if (deviceIds.size > 100_000) deviceIds.clear();
    deviceIds.set(name, id);
  }
  return id;
}

function baseName(path: string): string {
  const i = Math.max(path.lastIndexOf('\\'), path.lastIndexOf('/'));
  return i >= 0 ? path.slice(i + 1) : path;
}

const HASH_COLUMNS: Record<string, string> = { SHA1: 'SHA1', SHA256: 'SHA256', MD5: 'MD5' };
const NUMERIC_COLUMN = /(Id|Port|Size)$/;

function put(row: CanonicalRow, table: TableName, column: string, value: unknown): void {
  if (value === undefined || value === null || value === '' || value === '-') return;
  if (!TABLES.get(table)!.byName.has(column)) return;
  const type = TABLES.get(table)!.byName.get(column)!.type;
  if (type === 'long' || type === 'int') {
    const text = String(value);
    const n = /^0x[0-9a-f]+$/i.test(text) ? parseInt(text, 16) : /^-?\d+$/.test(text) ? Number(text) : NaN;
    if (Number.isSafeInteger(n)) row[column] = n;
    return;
  }
  if (column.endsWith('AccountName') && typeof value === 'string' && value.includes('\\')) {
    const [domain, name] = [value.slice(0, value.indexOf('\\')), value.slice(value.indexOf('\\') + 1)];
    row[column] = name;
    put(row, table, column.replace(/AccountName$/, 'AccountDomain'), domain);
    return;
  }
  row[column] = NUMERIC_COLUMN.test(column) && type === 'string' ? String(value) : typeof value === 'string' ? value : String(value);
}

/**
 * Normalises one evtx_dump JSON event: Sysmon 1/3/7/11/12/13/14/23/26 and Security 4624/4625 to their
 * Device* tables, anything else to DeviceEvents. Source fields without a canonical column go to
 * AdditionalFields; the whole flattened event is kept as `_Raw` so detection still sees every field.
 * Returns undefined when the input is not a Windows event.
 */
export function normaliseWindowsEvent(event: unknown): NormalisedEvent | undefined {
  const flat = flattenWindowsEvent(event);
  if (!flat) return undefined;
  const provider = String(flat.Provider_Name ?? '');
  const eventId = Number(flat.EventID);
  const mapping: WindowsEventMapping | undefined = WINDOWS_EVENT_MAPPINGS.get(`${provider}/${eventId}`);
  const table: TableName = mapping?.table ?? 'DeviceEvents';
  const fields = mapping?.fields ?? DEVICE_EVENTS_FIELDS;

  const computer = String(flat.Computer ?? 'unknown').toLowerCase();
  const time = flat.TimeCreated_SystemTime ?? (flat.UtcTime ? `${String(flat.UtcTime).replace(' ', 'T')}Z` : undefined);
  const row: CanonicalRow = {
    Timestamp: time && Number.isFinite(Date.parse(String(time))) ? new Date(Date.parse(String(time))).toISOString() : new Date(0).toISOString(),
    DeviceId: deviceIdFor(computer),
    DeviceName: computer,
    ReportId: hash52(`${computer}\0${flat.Channel ?? ''}\0${flat.EventRecordID ?? JSON.stringify(flat)}`),
  };
  if (table !== 'DeviceProcessEvents' && table !== 'DeviceFileEvents' && table !== 'DeviceLogonEvents'
    && table !== 'DeviceNetworkEvents' && table !== 'DeviceRegistryEvents' && table !== 'DeviceImageLoadEvents') {
    // DeviceEvents names what happened in ActionType; keep the source's identity there.
    row.ActionType = `${provider || String(flat.Channel ?? 'Windows')}/${eventId}`;
  } else if (mapping) {
    row.ActionType = typeof mapping.actionType === 'string'
      ? mapping.actionType
      : mapping.actionType.values[String(flat[mapping.actionType.field])] ?? String(flat[mapping.actionType.field] ?? 'Unknown');
  }

  const additional: Json = {};
  const system = new Set(['EventID', 'Channel', 'Computer', 'EventRecordID', 'Provider_Name', 'Provider_Guid', 'TimeCreated_SystemTime',
    'Version', 'Level', 'Task', 'Opcode', 'Keywords', 'Execution_ProcessID', 'Execution_ThreadID', 'Security_UserID',
    'Correlation', 'Correlation_ActivityID', 'xmlns']);
  for (const [field, value] of Object.entries(flat)) {
    const target = fields[field];
    if (target === undefined) {
      if (field === 'Hashes' && typeof value === 'string') {
        for (const part of value.split(',')) {
          const [algo, digest] = part.split('=');
          if (HASH_COLUMNS[algo?.trim().toUpperCase()]) put(row, table, HASH_COLUMNS[algo.trim().toUpperCase()], digest?.trim().toLowerCase());
        }
      } else if (!system.has(field)) {
        additional[field] = value;
      }
      continue;
    }
    if (typeof target === 'string') {
      put(row, table, target, field === 'LogonType' ? LOGON_TYPES[String(value)] ?? value : value);
    } else if (typeof value === 'string') {
      put(row, table, target.path, value);
      put(row, table, target.fileName, baseName(value));
    }
  }
  if (table === 'DeviceRegistryEvents' && typeof row.RegistryKey === 'string' && row.ActionType !== 'RegistryKeyCreated') {
    const key = row.RegistryKey;
    const cut = key.lastIndexOf('\\');
    if (cut > 0 && String(row.ActionType).startsWith('RegistryValue')) {
      row.RegistryKey = key.slice(0, cut);
      row.RegistryValueName = key.slice(cut + 1);
    }
  }
  if (Object.keys(additional).length > 0) row.AdditionalFields = additional;
  row._Raw = flat;
  return { table, row };
}
