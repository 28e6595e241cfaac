// Device or user telemetry timeline: rows from several tables and alerts, merged by time, filterable.
import { useMemo, useState } from 'react';
import { str, time } from '../format';
import { DataTable, type Column } from './DataTable';
import { Field } from './ui';
import { Link } from '../router';

export interface TimelineItem { at: string; source: string; action: string; summary: string; alertId?: string; severity?: string; row?: Record<string, unknown> }

/** One line describing a telemetry row, from the columns that say what happened. */
export function summarise(table: string, r: Record<string, unknown>): string {
  const parts: unknown[] = [];
  if (table === 'DeviceProcessEvents') parts.push(r.InitiatingProcessFileName, '→', r.FileName, r.ProcessCommandLine);
  else if (table === 'DeviceFileEvents') parts.push(r.InitiatingProcessFileName, r.FolderPath ?? r.FileName, r.SHA256);
  else if (table === 'DeviceNetworkEvents') parts.push(r.InitiatingProcessFileName, '→', r.RemoteUrl || r.RemoteIP, r.RemotePort ? `:${str(r.RemotePort)}` : '');
  else if (table === 'DeviceLogonEvents') parts.push(r.AccountDomain ? `${str(r.AccountDomain)}\\${str(r.AccountName)}` : r.AccountName, r.LogonType, r.RemoteIP);
  else if (table === 'DeviceRegistryEvents') parts.push(r.RegistryKey, r.RegistryValueName, r.RegistryValueData);
  else parts.push(r.FileName, r.ProcessCommandLine, r.RemoteUrl, r.RemoteIP, r.AccountName);
  return parts.filter((p) => p !== undefined && p !== null && p !== '').map(str).join(' ');
}

export function TimelineTable({ items, testId }: { items: TimelineItem[]; testId?: string }) {
  const [source, setSource] = useState('');
  const [q, setQ] = useState('');
  const sources = useMemo(() => [...new Set(items.map((i) => i.source))].sort(), [items]);
  const rows = useMemo(() => items.filter((i) => (!source || i.source === source)
    && (!q || `${i.action} ${i.summary}`.toLowerCase().includes(q.toLowerCase()))), [items, source, q]);
  const columns: Column<TimelineItem>[] = [
    { id: 'at', label: 'Time', width: '190px', value: (i) => i.at, render: (i) => time(i.at) },
    { id: 'source', label: 'Source', width: '180px', value: (i) => i.source },
    { id: 'action', label: 'Event', width: '180px', value: (i) => i.action, render: (i) => i.alertId ? <Link to={`/alerts/${encodeURIComponent(i.alertId)}`}>{i.action}</Link> : i.action },
    { id: 'summary', label: 'Details', width: 'minmax(320px, 4fr)', value: (i) => i.summary, render: (i) => <span className="mono" data-testid="timeline-summary">{i.summary}</span> },
  ];
  return (
    <div>
      <div className="filters">
        <Field label="Source">{(id) => (
          <select id={id} value={source} onChange={(e) => setSource(e.target.value)}>
            <option value="">All</option>{sources.map((s) => <option key={s} value={s}>{s}</option>)}
          </select>
        )}</Field>
        <Field label="Filter">{(id) => <input id={id} type="search" value={q} onChange={(e) => setQ(e.target.value)} placeholder="Text in the event" />}</Field>
      </div>
      <DataTable label="Timeline" testId={testId} rows={rows} columns={columns} rowKey={(i) => `${i.source}|${i.at}|${i.alertId ?? ''}|${i.summary}`} initialSort={{ id: 'at', desc: true }} csvName="timeline" chooser maxHeight={480} />
    </div>
  );
}
