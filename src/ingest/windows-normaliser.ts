import { createHash } from 'node:crypto';
import { TABLES, type CanonicalRow, type TableName } from '../schema/index.js';
import type { Json, Shape } from './flat-shapes.js';
import { flattenWindowsEvent, flattenWindowsEventText, type Flattened } from './windows-flatten.js';
import { DEVICE_EVENTS_FIELDS, LOGON_TYPES, WINDOWS_EVENT_MAPPINGS, type WindowsEventMapping } from './windows-mapping.js';

/** A Windows event in canonical form: its table, every original field flattened, and its canonical row. */
export interface NormalisedEvent {
  readonly table: TableName;
  /** The flattened source event, by Sigma's field names (also the row's `_Raw`). */
  readonly raw: Json;
  /**
   * The canonical row, made on first use: detection reads `raw` and needs the row only for a match
   * (or a rule on a canonical column the source lacks), so an offline scan makes few.
   */
  readonly row: CanonicalRow;
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
let lastComputer = '';
let lastDeviceId = '';

/** Defender's DeviceId is 40 hex digits; a Windows event names only its computer, so derive one from it. */
export function deviceIdFor(computer: string): string {
  if (computer === lastComputer) return lastDeviceId;
  const name = computer.toLowerCase();
  let id = deviceIds.get(name);
  if (!id) {
    id = createHash('sha1').update(name).digest('hex');
    if (deviceIds.size > 100_000) deviceIds.clear();
    deviceIds.set(name, id);
  }
  lastComputer = computer;
  lastDeviceId = id;
  return id;
}

function baseName(path: string): string {
  const i = Math.max(path.lastIndexOf('\\'), path.lastIndexOf('/'));
  return i >= 0 ? path.slice(i + 1) : path;
}

const HASH_COLUMNS: Record<string, string> = { SHA1: 'SHA1', SHA256: 'SHA256', MD5: 'MD5' };
const NUMERIC_COLUMN = /(Id|Port|Size)$/;
const SYSTEM_FIELDS = new Set(['EventID', 'Channel', 'Computer', 'EventRecordID', 'Provider_Name', 'Provider_Guid', 'TimeCreated_SystemTime',
  'Version', 'Level', 'Task', 'Opcode', 'Keywords', 'Execution_ProcessID', 'Execution_ThreadID', 'Security_UserID',
  'Correlation', 'Correlation_ActivityID', 'xmlns']);

/** How a value is written to one column of one table, decided once per (table, column). */
type Writer = (row: CanonicalRow, value: unknown) => void;
const writers = new Map<string, Writer>();

function toInteger(value: unknown): number {
  if (typeof value === 'number') return Number.isInteger(value) ? value : NaN;
  const text = String(value);
  return /^0x[0-9a-f]+$/i.test(text) ? parseInt(text, 16) : /^-?\d+$/.test(text) ? Number(text) : NaN;
}

/**
 * `row["Column"] = v` for one schema column. A store to a named property keeps a row with many columns
 * a fast object; `row[column]` with the name in a variable would turn it into a dictionary past a dozen.
 * Column names come from the schema (code), and are quoted as JSON.
 */
const setters = new Map<string, (row: CanonicalRow, value: unknown) => void>();
function setterOf(column: string): (row: CanonicalRow, value: unknown) => void {
  let set = setters.get(column);
  if (set === undefined) {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the source holds only a quoted schema column name
    set = new Function('row', 'value', `'use strict'; row[${JSON.stringify(column)}] = value;`) as (row: CanonicalRow, value: unknown) => void;
    setters.set(column, set);
  }
  return set;
}

function writerFor(table: TableName, column: string): Writer {
  const key = `${table}\u0001${column}`;
  let w = writers.get(key);
  if (w !== undefined) return w;
  const type = TABLES.get(table)!.byName.get(column)?.type;
  const set = setterOf(column);
  if (type === undefined) w = () => {};
  else if (type === 'long' || type === 'int') {
    w = (row, value) => { const n = toInteger(value); if (Number.isSafeInteger(n)) set(row, n); };
  } else if (column.endsWith('AccountName')) {
    const domain = writerFor(table, column.replace(/AccountName$/, 'AccountDomain'));
    w = (row, value) => {
      if (typeof value === 'string' && value.includes('\\')) {
        const cut = value.indexOf('\\');
        set(row, value.slice(cut + 1));
        put(row, value.slice(0, cut), domain);
      } else set(row, typeof value === 'string' ? value : String(value));
    };
  } else {
    w = (row, value) => { set(row, typeof value === 'string' ? value : String(value)); };
  }
  if (NUMERIC_COLUMN.test(column) && type === 'string') w = (row, value) => { set(row, String(value)); };
  writers.set(key, w);
  return w;
}

function put(row: CanonicalRow, value: unknown, write: Writer): void {
  if (value === undefined || value === null || value === '' || value === '-') return;
  write(row, value);
}

/** A source field's effect on the row: one writer, or a path's writer and its base name's writer; and the columns they may write. */
type FieldPlan = ({ readonly write: Writer; readonly fileName?: undefined } | { readonly write: Writer; readonly fileName: Writer }) & { readonly columns: readonly string[] };
const plans = new WeakMap<WindowsEventMapping['fields'], Map<TableName, ReadonlyMap<string, FieldPlan>>>();

function planFor(table: TableName, fields: WindowsEventMapping['fields']): ReadonlyMap<string, FieldPlan> {
  let byTable = plans.get(fields);
  if (byTable === undefined) { byTable = new Map(); plans.set(fields, byTable); }
  let plan = byTable.get(table);
  if (plan === undefined) {
    const m = new Map<string, FieldPlan>();
    // An AccountName writer also writes the domain (see writerFor).
    const written = (...columns: string[]) => columns.flatMap((c) => (c.endsWith('AccountName') ? [c, c.replace(/AccountName$/, 'AccountDomain')] : [c]));
    for (const [field, target] of Object.entries(fields)) {
      m.set(field, typeof target === 'string'
        ? { write: writerFor(table, target), columns: written(target) }
        : { write: writerFor(table, target.path), fileName: writerFor(table, target.fileName), columns: written(target.path, target.fileName) });
    }
    plan = m;
    byTable.set(table, plan);
  }
  return plan;
}

const hashWriters = (table: TableName) => Object.fromEntries(Object.entries(HASH_COLUMNS).map(([k, c]) => [k, writerFor(table, c)]));
const hashWritersByTable = new Map<TableName, Record<string, Writer>>();

/** Sysmon's `Hashes` (`SHA1=…,MD5=…,SHA256=…,IMPHASH=…`) to the hash columns. */
function writeHashes(row: CanonicalRow, table: TableName, value: string): void {
  let hw = hashWritersByTable.get(table);
  if (hw === undefined) { hw = hashWriters(table); hashWritersByTable.set(table, hw); }
  // Cut by index, not split(): four hashes in every process and image-load event.
  for (let start = 0; start < value.length;) {
    let end = value.indexOf(',', start);
    if (end < 0) end = value.length;
    const eq = value.indexOf('=', start);
    if (eq >= 0 && eq < end) {
      const w = hw[value.slice(start, eq).trim().toUpperCase()];
      let digestEnd = value.indexOf('=', eq + 1);
      if (digestEnd < 0 || digestEnd > end) digestEnd = end;
      if (w !== undefined) put(row, value.slice(eq + 1, digestEnd).trim().toLowerCase(), w);
    }
    start = end + 1;
  }
}

/** What the normaliser does with one field of a shape, decided once per shape and table. */
type FieldAction =
  | { readonly kind: 'column' | 'logonType'; readonly write: Writer }
  | { readonly kind: 'path'; readonly write: Writer; readonly fileName: Writer }
  /** Kept in `_Raw` only (system fields), or in AdditionalFields (built in one step, see ShapePlan). */
  | { readonly kind: 'hashes' | 'system' | 'additional' };
const HASHES: FieldAction = { kind: 'hashes' };
const SYSTEM: FieldAction = { kind: 'system' };
const ADDITIONAL: FieldAction = { kind: 'additional' };

/** Columns every row has, whatever its fields (see canonicalRow). */
const ROW_COLUMNS = ['Timestamp', 'DeviceId', 'DeviceName', 'ReportId', 'ActionType', 'AdditionalFields', '_Raw'];

interface ShapePlan {
  /** Per unique field of the shape. */
  readonly actions: readonly FieldAction[];
  /** Every column a row of this shape can have. */
  readonly columns: ReadonlySet<string>;
  /** Builds AdditionalFields from the flat event; null when the shape has no such field. */
  readonly additional: ((flat: Json) => Json) | null;
}

function shapePlan(shape: Shape, plan: ReadonlyMap<string, FieldPlan>): ShapePlan {
  let byPlan = shape.derived.get(plan) as ShapePlan | undefined;
  if (byPlan !== undefined) return byPlan;
  const extra: number[] = [];
  const columns = new Set(ROW_COLUMNS);
  const actions = shape.unique.map((field, i): FieldAction => {
    const target = plan.get(field);
    for (const c of target?.columns ?? []) columns.add(c);
    if (field === 'Hashes') for (const c of Object.values(HASH_COLUMNS)) columns.add(c);
    if (target?.fileName !== undefined) return { kind: 'path', write: target.write, fileName: target.fileName };
    if (target !== undefined) return { kind: field === 'LogonType' ? 'logonType' : 'column', write: target.write };
    if (field === 'Hashes') return HASHES;
    if (SYSTEM_FIELDS.has(field)) return SYSTEM;
    extra.push(i);
    return ADDITIONAL;
  });
  if (columns.has('RegistryKey')) columns.add('RegistryValueName');
  byPlan = { actions, columns, additional: extra.length > 0 ? shape.subset(extra) : null };
  shape.derived.set(plan, byPlan);
  return byPlan;
}

/** `2026-11-02T08:00:00.1234567Z` → `2026-11-02T08:00:00.123Z` without a Date round trip when already canonical UTC. */
const UTC_TIME = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/;
/** The last whole second isoTimestamp checked: events come in time order, many in the same second. */
let checkedSecond = '';
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;

function isoTimestamp(time: unknown): string {
  if (time === undefined || time === null) return new Date(0).toISOString();
  const text = String(time);
  // Same second as the last one checked, then '.' and 1-9 digits, then 'Z': only the fraction to cut.
  const end = text.length - 1;
  if (checkedSecond !== '' && end >= 21 && end <= 29 && text.charCodeAt(end) === 0x5a && text.charCodeAt(19) === 0x2e && text.startsWith(checkedSecond)) {
    let digits = true;
    for (let i = 20; i < end && digits; i++) digits = isDigit(text.charCodeAt(i));
    if (digits) return `${checkedSecond}.${end >= 23 ? text.slice(20, 23) : text.slice(20, end).padEnd(3, '0')}Z`;
  }
  const m = UTC_TIME.exec(text);
  // Days past the 28th go the slow way, so an impossible date (Feb 30) rolls over as Date does.
  if (m !== null && m[1]!.charCodeAt(8) < 0x33 && !(m[1]!.charCodeAt(8) === 0x32 && m[1]!.charCodeAt(9) > 0x38)) {
    const ms = Date.parse(`${m[1]}Z`);
    if (Number.isFinite(ms)) {
      checkedSecond = m[1]!;
      return `${m[1]}.${(m[2] ?? '').padEnd(3, '0').slice(0, 3)}Z`;
    }
  }
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : new Date(0).toISOString();
}

class WindowsEvent implements NormalisedEvent {
  private made: CanonicalRow | undefined = undefined;

  constructor(
    readonly table: TableName,
    readonly raw: Json,
    private readonly shape: Shape,
    private readonly plan: ShapePlan,
    private readonly mapping: WindowsEventMapping | undefined,
    /** The JSON text the fields were read from, when the text reader read them all (DetectionInput.text). */
    readonly text?: string,
  ) {}

  /** The columns the row can have, known without making it (DetectionInput.columns). */
  get columns(): ReadonlySet<string> {
    return this.plan.columns;
  }

  get row(): CanonicalRow {
    return (this.made ??= canonicalRow(this.table, this.raw, this.shape, this.plan, this.mapping));
  }
}

/** Mappings by provider, then EventID (no key string is built per event); the last provider's are at hand. */
const mappingsByProvider = new Map<string, Map<number, WindowsEventMapping | undefined>>();
let lastProvider: unknown;
let lastProviderMappings = new Map<number, WindowsEventMapping | undefined>();

/** The event's mapping, from its provider and EventID (none: the event goes to DeviceEvents). */
function mappingOf(flat: Json): WindowsEventMapping | undefined {
  const providerValue = flat.Provider_Name;
  if (providerValue !== lastProvider) {
    const provider = String(providerValue ?? '');
    let byId = mappingsByProvider.get(provider);
    if (byId === undefined) { byId = new Map(); if (mappingsByProvider.size < 10_000) mappingsByProvider.set(provider, byId); }
    lastProvider = providerValue;
    lastProviderMappings = byId;
  }
  const eventId = Number(flat.EventID);
  if (lastProviderMappings.has(eventId)) return lastProviderMappings.get(eventId);
  const mapping = WINDOWS_EVENT_MAPPINGS.get(`${String(providerValue ?? '')}/${eventId}`);
  if (lastProviderMappings.size < 100_000) lastProviderMappings.set(eventId, mapping);
  return mapping;
}

/**
 * Normalises one evtx_dump JSON event: Sysmon 1/3/7/11/12/13/14/23/26 and Security 4624/4625 to their
 * Device* tables, anything else to DeviceEvents. Source fields without a canonical column go to
 * AdditionalFields; the whole flattened event is kept as `raw` (and `row._Raw`) so detection still
 * sees every field. Returns undefined when the input is not a Windows event.
 */
export function normaliseWindowsEvent(event: unknown): NormalisedEvent | undefined {
  const flattened = flattenWindowsEvent(event);
  return flattened && normalised(flattened);
}

/**
 * normaliseWindowsEvent(JSON.parse(line)), reading the common evtx_dump shape straight from the text
 * (windows-flatten.ts). Throws JSON.parse's SyntaxError when the line is not JSON.
 */
export function normaliseWindowsEventText(line: string): NormalisedEvent | undefined {
  const read = flattenWindowsEventText(line);
  if (read !== null) return normalised(read, read.verbatim === true ? line : undefined);
  const flattened = flattenWindowsEvent(JSON.parse(line));
  return flattened && normalised(flattened);
}

/** `text`: the JSON text every value was read from (DetectionInput.text), when so. */
function normalised({ flat, shape }: Flattened, text?: string): NormalisedEvent {
  const mapping = mappingOf(flat);
  const table = mapping?.table ?? 'DeviceEvents';
  const plan = shapePlan(shape, planFor(table, mapping?.fields ?? DEVICE_EVENTS_FIELDS));
  return new WindowsEvent(table, flat, shape, plan, mapping, text);
}

function canonicalRow(table: TableName, flat: Json, shape: Shape, plan: ShapePlan, mapping: WindowsEventMapping | undefined): CanonicalRow {
  const provider = String(flat.Provider_Name ?? '');
  const eventId = Number(flat.EventID);
  const computer = String(flat.Computer ?? 'unknown').toLowerCase();
  const time = flat.TimeCreated_SystemTime ?? (flat.UtcTime ? `${String(flat.UtcTime).replace(' ', 'T')}Z` : undefined);
  const row: CanonicalRow = {
    Timestamp: isoTimestamp(time),
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

  const { actions, additional: buildAdditional } = plan;
  let additional = buildAdditional?.(flat);
  for (let i = 0; i < actions.length; i++) {
    const action = actions[i]!;
    const value = flat[shape.unique[i]!];
    switch (action.kind) {
      case 'column': put(row, value, action.write); break;
      case 'logonType': put(row, LOGON_TYPES[String(value)] ?? value, action.write); break;
      case 'path':
        if (typeof value === 'string') { put(row, value, action.write); put(row, baseName(value), action.fileName); }
        break;
      case 'hashes':
        if (typeof value === 'string') writeHashes(row, table, value);
        else (additional ??= {}).Hashes = value;
        break;
      default: break; // system fields stay in _Raw; additional ones are built above
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
  if (additional !== undefined) row.AdditionalFields = additional;
  row._Raw = flat;
  return row;
}
