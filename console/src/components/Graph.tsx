// The attack story graph: entities as nodes, alerts and relations as edges, laid out by a small
// deterministic force simulation and drawn in SVG. Labels are SVG text nodes (inert).
import { useMemo, useState } from 'react';

export interface GraphNode { id: string; kind: string; label: string }
export interface GraphEdge { from: string; to: string; label: string }

const KIND_GLYPH: Record<string, string> = {
  device: 'D', user: 'U', file: 'F', process: 'P', ip: 'IP', url: 'URL', mailbox: 'M', sender: 'S', mailMessage: '✉', alert: '!',
};

interface Placed { x: number; y: number }

/** Fruchterman–Reingold style layout; the same input always gives the same picture. */
export function layout(nodes: readonly GraphNode[], edges: readonly GraphEdge[], width: number, height: number): Map<string, Placed> {
  const n = nodes.length;
  const pos = nodes.map((_, i) => {
    const a = (2 * Math.PI * i) / Math.max(n, 1);
    return { x: width / 2 + (width / 3) * Math.cos(a), y: height / 2 + (height / 3) * Math.sin(a) };
  });
  const index = new Map(nodes.map((node, i) => [node.id, i]));
  const links = edges.map((e) => [index.get(e.from), index.get(e.to)]).filter((l): l is [number, number] => l[0] !== undefined && l[1] !== undefined && l[0] !== l[1]);
  const k = Math.sqrt((width * height) / Math.max(n, 1)) * 0.6;
  let temperature = width / 8;
  const iterations = n > 150 ? 120 : 300;
  for (let it = 0; it < iterations; it++) {
    const disp = pos.map(() => ({ x: 0, y: 0 }));
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        let dx = pos[i].x - pos[j].x;
        let dy = pos[i].y - pos[j].y;
        let d = Math.hypot(dx, dy);
        if (d < 0.01) { dx = 0.01 * (i - j); dy = 0.01; d = Math.hypot(dx, dy); }
        const f = (k * k) / d;
        disp[i].x += (dx / d) * f; disp[i].y += (dy / d) * f;
        disp[j].x -= (dx / d) * f; disp[j].y -= (dy / d) * f;
      }
    }
    for (const [a, b] of links) {
      const dx = pos[a].x - pos[b].x;
      const dy = pos[a].y - pos[b].y;
      const d = Math.max(Math.hypot(dx, dy), 0.01);
      const f = (d * d) / k;
      disp[a].x -= (dx / d) * f; disp[a].y -= (dy / d) * f;
      disp[b].x += (dx / d) * f; disp[b].y += (dy / d) * f;
    }
    for (let i = 0; i < n; i++) {
      // Gravity keeps disconnected parts on screen.
      disp[i].x += (width / 2 - pos[i].x) * 0.05;
      disp[i].y += (height / 2 - pos[i].y) * 0.05;
      const d = Math.max(Math.hypot(disp[i].x, disp[i].y), 0.01);
      pos[i].x += (disp[i].x / d) * Math.min(d, temperature);
      pos[i].y += (disp[i].y / d) * Math.min(d, temperature);
    }
    temperature *= 0.985;
  }
  // Fit into the box with a margin for labels.
  const margin = 60;
  const xs = pos.map((p) => p.x);
  const ys = pos.map((p) => p.y);
  const [minX, maxX, minY, maxY] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const sx = maxX - minX < 1 ? 0 : (width - 2 * margin) / (maxX - minX);
  const sy = maxY - minY < 1 ? 0 : (height - 2 * margin) / (maxY - minY);
  const out = new Map<string, Placed>();
  nodes.forEach((node, i) => {
    out.set(node.id, {
      x: sx === 0 ? width / 2 : margin + (pos[i].x - minX) * sx,
      y: sy === 0 ? height / 2 : margin + (pos[i].y - minY) * sy,
    });
  });
  return out;
}

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
