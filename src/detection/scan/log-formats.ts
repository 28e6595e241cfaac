// Log file formats `vigil scan` reads, detected per file, each turned into engine inputs:
// evtx_dump JSON (one object, several concatenated objects, an array, or one per line), canonical
// NDJSON ({table,row} lines or bare rows), and flattened Windows JSON lines as shippers write them
// (Winlogbeat: winlog.event_data / winlog.channel; NXLog and OTRF Security-Datasets: fields at top level).
import { normaliseWindowsEvent } from '../../ingest/index.js';
import type { CanonicalRow } from '../../schema/index.js';
import type { DetectionInput } from '../sigma/sigma-engine.js';

export type LogFormat = 'evtx-json' | 'canonical-ndjson' | 'winlogbeat-json' | 'flat-windows-json' | 'unknown';

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Which format one parsed record is in. */
export function classifyRecord(v: unknown): LogFormat {
  if (!isObject(v)) return 'unknown';
  if (isObject(v.Event) && isObject((v.Event as Record<string, unknown>).System)) return 'evtx-json';
  if (isObject(v.System) && (isObject(v.EventData) || isObject(v.UserData) || v.EventData === null)) return 'evtx-json';
  if (typeof v.table === 'string' && isObject(v.row)) return 'canonical-ndjson';
  if (isObject(v.winlog)) return 'winlogbeat-json';
  if (v.EventID !== undefined && (v.Channel !== undefined || v.SourceName !== undefined || v.ProviderName !== undefined)) return 'flat-windows-json';
  if (typeof v.ActionType === 'string' || typeof v.Timestamp === 'string') return 'canonical-ndjson';
  return 'unknown';
}

/** Canonical table of a bare row, from its ActionType (Defender's values), when the line does not name it. */
const ACTION_TABLES: readonly [RegExp, string][] = [
  [/^Process/, 'DeviceProcessEvents'], [/^File/, 'DeviceFileEvents'], [/Connection|^Listening/, 'DeviceNetworkEvents'],
  [/^Logon/, 'DeviceLogonEvents'], [/^Registry/, 'DeviceRegistryEvents'], [/^ImageLoaded$/, 'DeviceImageLoadEvents'],
];

function canonicalInput(v: Record<string, unknown>): DetectionInput | undefined {
  if (typeof v.table === 'string' && isObject(v.row)) return { table: v.table, row: v.row };
  const named = v.Table ?? v.$table;
  if (typeof named === 'string') return { table: named, row: v };
  const action = typeof v.ActionType === 'string' ? v.ActionType : '';
  const table = ACTION_TABLES.find(([re]) => re.test(action))?.[1] ?? 'DeviceEvents';
  return { table, row: v };
}

/** A flattened Windows record (NXLog/OTRF/Winlogbeat) rebuilt as an evtx_dump event, so ingest normalises it. */
function evtxFromFlat(fields: Record<string, unknown>, system: {
  eventId: unknown; channel: unknown; computer: unknown; provider: unknown; time: unknown; recordId?: unknown;
}): unknown {
  const eid = Number(system.eventId);
  return {
    Event: {
      System: {
        Provider: { '#attributes': { Name: system.provider ?? '' } },
        EventID: Number.isFinite(eid) ? eid : system.eventId,
        TimeCreated: { '#attributes': { SystemTime: system.time } },
        EventRecordID: system.recordId,
        Channel: system.channel, Computer: system.computer,
      },
      EventData: fields,
    },
  };
}

const SYSTEM_KEYS = new Set(['EventID', 'Channel', 'Hostname', 'Computer', 'SourceName', 'ProviderName', 'EventTime', 'TimeCreated', '@timestamp',
  'EventReceivedTime', 'RecordNumber', 'EventRecordID', 'SourceModuleName', 'SourceModuleType', '@version', 'host', 'tags', 'port', 'Message']);

/** Turn one record into engine input; undefined when it cannot be read. */
export function toInput(v: unknown, format: LogFormat): DetectionInput | undefined {
  if (!isObject(v)) return undefined;
  switch (format) {
    case 'evtx-json': return normaliseWindowsEvent(v) ?? undefined;
    case 'canonical-ndjson': return canonicalInput(v);
    case 'winlogbeat-json': {
      const w = v.winlog as Record<string, unknown>;
      const data = isObject(w.event_data) ? w.event_data : {};
      const ev = isObject(v.event) ? v.event : {};
      return normaliseWindowsEvent(evtxFromFlat(data, {
        eventId: w.event_id ?? ev.code, channel: w.channel, computer: w.computer_name ?? (isObject(v.host) ? v.host.name : undefined),
        provider: w.provider_name, time: v['@timestamp'], recordId: w.record_id,
      })) ?? undefined;
    }
    case 'flat-windows-json': {
      const data: Record<string, unknown> = {};
      for (const [k, val] of Object.entries(v)) if (!SYSTEM_KEYS.has(k)) data[k] = val;
      const t = v.TimeCreated ?? v.EventTime ?? v['@timestamp'];
      const time = typeof t === 'string' && !/[zZ]|[+-]\d\d:?\d\d$/.test(t) ? `${t.replace(' ', 'T')}Z` : t;
      return normaliseWindowsEvent(evtxFromFlat(data, {
        eventId: v.EventID, channel: v.Channel, computer: v.Hostname ?? v.Computer, provider: v.SourceName ?? v.ProviderName,
        time, recordId: v.RecordNumber ?? v.EventRecordID,
      })) ?? undefined;
    }
    default: return undefined;
  }
}

export type { CanonicalRow };
