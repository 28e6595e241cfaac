// A process tree built from process telemetry rows (ProcessId ← InitiatingProcessId ← InitiatingProcessParentId).
import { str } from '../format';

interface Proc { pid: string; name: string; cmd: string; parent: string | null; children: Proc[]; highlight: boolean }

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

function Node({ p, depth }: { p: Proc; depth: number }) {
  return (
    <li>
      <div>
        <strong className={p.highlight ? '' : 'muted'}>{p.name || '(unknown process)'}</strong> <span className="muted">pid {p.pid}</span>
        {p.cmd ? <div className="cmdline" data-testid="cmdline">{p.cmd}</div> : null}
      </div>
      {p.children.length && depth < 30 ? <ul className="tree">{p.children.map((c) => <Node key={c.pid} p={c} depth={depth + 1} />)}</ul> : null}
    </li>
  );
}

export function ProcessTree({ rows }: { rows: readonly Record<string, unknown>[] }) {
  const roots = buildTree(rows);
  if (roots.length === 0) return <div className="empty">No process information in these events.</div>;
  return <ul className="tree root" aria-label="Process tree">{roots.map((r) => <Node key={r.pid} p={r} depth={0} />)}</ul>;
}
