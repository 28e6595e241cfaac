// The attack story graph: entities as nodes, alerts and relations as edges, laid out by a small
// deterministic force simulation and drawn in SVG. Labels are SVG text nodes (inert).
import { useMemo, useState } from 'react';
import { layout, type GraphEdge, type GraphNode } from '../graph-layout';

export type { GraphEdge, GraphNode };

const KIND_GLYPH: Record<string, string> = {
  device: 'D', user: 'U', file: 'F', process: 'P', ip: 'IP', url: 'URL', mailbox: 'M', sender: 'S', mailMessage: '✉', alert: '!',
};

export function AttackGraph({ nodes, edges, onSelect }: { nodes: GraphNode[]; edges: GraphEdge[]; onSelect?(node: GraphNode): void }) {
  const width = 1100;
  const height = Math.max(420, Math.min(760, 200 + nodes.length * 30));
  const placed = useMemo(() => layout(nodes, edges, width, height), [nodes, edges, height]);
  const [focus, setFocus] = useState<string | null>(null);
  const near = useMemo(() => {
    if (!focus) return null;
    const set = new Set([focus]);
    for (const e of edges) {
      if (e.from === focus) set.add(e.to);
      if (e.to === focus) set.add(e.from);
    }
    return set;
  }, [focus, edges]);
  if (nodes.length === 0) return <div className="empty">No entities in this incident's evidence yet.</div>;
  return (
    <div className="graph-wrap">
      <svg
        viewBox={`0 0 ${width} ${height}`} className="graph" role="img" data-testid="attack-graph"
        aria-label={`Attack story graph: ${nodes.length} entities, ${edges.length} relations`}
      >
        <defs>
          <marker id="arrow" viewBox="0 0 10 10" refX="28" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M 0 0 L 10 5 L 0 10 z" className="graph-arrow" />
          </marker>
        </defs>
        <g>
          {edges.map((e, i) => {
            const a = placed.get(e.from);
            const b = placed.get(e.to);
            if (!a || !b) return null;
            const dim = near && !(near.has(e.from) && near.has(e.to));
            // Edge names clutter a busy graph: shown for the focused node's edges, or when there are few.
            const labelled = near ? !dim : edges.length <= 8;
            return (
              <g key={`${e.from}-${e.to}-${i}`} className={`graph-edge${dim ? ' dim' : ''}`}>
                <title>{e.label}</title>
                <line x1={a.x} y1={a.y} x2={b.x} y2={b.y} markerEnd="url(#arrow)" />
                {labelled ? <text x={(a.x + b.x) / 2} y={(a.y + b.y) / 2 - 5} textAnchor="middle">{e.label.length > 48 ? `${e.label.slice(0, 47)}…` : e.label}</text> : null}
              </g>
            );
          })}
        </g>
        <g>
          {nodes.map((node) => {
            const p = placed.get(node.id)!;
            const dim = near && !near.has(node.id);
            return (
              <g
                key={node.id} transform={`translate(${p.x},${p.y})`} className={`graph-node k-${node.kind}${dim ? ' dim' : ''}`}
                tabIndex={0} role="button" aria-label={`${node.kind} ${node.label}`} data-kind={node.kind}
                onClick={() => { setFocus(focus === node.id ? null : node.id); onSelect?.(node); }}
                onKeyDown={(e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); setFocus(focus === node.id ? null : node.id); onSelect?.(node); } }}
              >
                <title>{`${node.kind}: ${node.label}`}</title>
                <circle r="22" />
                <text className="glyph" textAnchor="middle" dy="5">{KIND_GLYPH[node.kind] ?? node.kind.slice(0, 1).toUpperCase()}</text>
                <text className="label" textAnchor="middle" dy="40">{node.label.length > 32 ? `${node.label.slice(0, 31)}…` : node.label}</text>
              </g>
            );
          })}
        </g>
      </svg>
      <ul className="legend" aria-label="Legend">
        {[...new Set(nodes.map((n) => n.kind))].map((kind) => (
          <li key={kind}><span className={`dot k-${kind}`} aria-hidden="true" /> {kind}</li>
        ))}
      </ul>
    </div>
  );
}
