// A process tree from process telemetry rows (ProcessId ← InitiatingProcessId ← InitiatingProcessParentId).
import { str } from './format.js';

export interface Proc { pid: string; name: string; cmd: string; parent: string | null; children: Proc[]; highlight: boolean }

export function buildTree(rows: readonly Record<string, unknown>[]): Proc[] {
  const procs = new Map<string, Proc>();
  const put = (pid: unknown, name: unknown, cmd: unknown, parent: unknown, highlight: boolean) => {
    if (pid === undefined || pid === null || pid === '') return;
    const key = str(pid);
    const existing = procs.get(key);
    if (existing) {
      if (!existing.name && name) existing.name = str(name);
      if (!existing.cmd && cmd) existing.cmd = str(cmd);
      if (existing.parent === null && parent !== undefined && parent !== null && parent !== '') existing.parent = str(parent);
      existing.highlight ||= highlight;
      return;
    }
    procs.set(key, { pid: key, name: str(name), cmd: str(cmd), parent: parent === undefined || parent === null || parent === '' ? null : str(parent), children: [], highlight });
  };
  for (const r of rows) {
    put(r.InitiatingProcessParentId, r.InitiatingProcessParentFileName, '', null, false);
    put(r.InitiatingProcessId, r.InitiatingProcessFileName, r.InitiatingProcessCommandLine, r.InitiatingProcessParentId, false);
    put(r.ProcessId, r.FileName, r.ProcessCommandLine, r.InitiatingProcessId, true);
  }
  const roots: Proc[] = [];
  for (const p of procs.values()) {
    const parent = p.parent !== null && p.parent !== p.pid ? procs.get(p.parent) : undefined;
    if (parent) parent.children.push(p);
    else roots.push(p);
  }
  return roots;
}
