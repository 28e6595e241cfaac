// The attack story graph's data and its layout, apart from drawing (so it can be tested without a browser).

export interface GraphNode { id: string; kind: string; label: string }
export interface GraphEdge { from: string; to: string; label: string }


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
