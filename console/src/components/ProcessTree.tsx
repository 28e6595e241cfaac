// A process tree built from process telemetry rows (ProcessId ← InitiatingProcessId ← InitiatingProcessParentId).
import { buildTree, type Proc } from '../process-tree';

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
