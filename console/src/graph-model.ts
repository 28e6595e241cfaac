import type { GraphEdge, GraphNode } from './graph-layout.js';
import type { Alert, Evidence, IncidentDetail } from './model.js';

const nodeId = (e: Pick<Evidence, 'kind' | 'key'>) => `${e.kind}:${e.key}`;

/**
 * The attack story as a graph. Every evidence entity is a node. Each alert links its anchor (the first
 * impacted device, else the first impacted entity) to its other entities, the edge named by the alert;
 * processes link to their parent process and to their image file when the evidence says so.
 */
export function storyGraph(incident: IncidentDetail): { nodes: GraphNode[]; edges: GraphEdge[] } {
  const nodes = new Map<string, GraphNode>();
  const edges = new Map<string, GraphEdge>();
  const addNode = (e: Pick<Evidence, 'kind' | 'key' | 'label'>) => {
    const id = nodeId(e);
    if (!nodes.has(id)) nodes.set(id, { id, kind: e.kind, label: e.label || e.key });
    return id;
  };
  const addEdge = (from: string, to: string, label: string) => {
    if (from === to) return;
    const key = `${from}→${to}`;
    const existing = edges.get(key);
    if (existing) {
      if (!existing.label.split(' · ').includes(label)) existing.label = `${existing.label} · ${label}`;
    } else edges.set(key, { from, to, label });
  };
  for (const entity of incident.entities ?? []) addNode(entity);
  const alerts: Alert[] = incident.alerts ?? [];
  const evidenceByAlert = new Map<string, Evidence[]>();
  for (const alert of alerts) evidenceByAlert.set(alert.id, [...(alert.evidence ?? [])]);
  for (const e of incident.evidence ?? []) {
    if (!e.alertId) continue;
    const list = evidenceByAlert.get(e.alertId) ?? [];
    if (!list.some((x) => nodeId(x) === nodeId(e))) list.push(e);
    evidenceByAlert.set(e.alertId, list);
  }
  for (const [alertId, evidence] of evidenceByAlert) {
    if (evidence.length === 0) continue;
    const alert = alerts.find((a) => a.id === alertId);
    const label = alert?.title ?? alertId;
    const anchor = evidence.find((e) => e.kind === 'device' && e.role !== 'Related')
      ?? evidence.find((e) => e.kind === 'device')
      ?? evidence.find((e) => e.role === 'Impacted')
      ?? evidence[0];
    const anchorId = addNode(anchor);
    for (const e of evidence) {
      const id = addNode(e);
      if (id !== anchorId) addEdge(anchorId, id, label);
    }
    // Relations the evidence states itself.
    for (const e of evidence) {
      if (e.kind !== 'process' || !e.details) continue;
      const d = e.details;
      const parentPid = d.parentProcessId ?? d.ParentProcessId ?? d.InitiatingProcessId;
      if (parentPid !== undefined) {
        const parent = evidence.find((p) => p.kind === 'process' && p !== e && (p.details?.processId ?? p.details?.ProcessId ?? p.details?.pid) === parentPid);
        if (parent) addEdge(nodeId(parent), nodeId(e), 'created');
      }
      const sha = d.sha256 ?? d.SHA256;
      if (typeof sha === 'string') {
        const file = evidence.find((f) => f.kind === 'file' && f.key === sha.toLowerCase());
        if (file) addEdge(nodeId(e), nodeId(file), 'image');
      }
    }
  }
  return { nodes: [...nodes.values()], edges: [...edges.values()] };
}
