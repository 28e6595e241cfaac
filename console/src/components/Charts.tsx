// Plain-SVG charts: time series, bars and pies. No chart library, nothing inline that a CSP would refuse.
import { str } from '../format';

const PALETTE = 8;

export interface Series { name: string; points: { x: number; y: number }[] }

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

export function TimeChart({ series, title, height = 240, width = 720 }: { series: Series[]; title: string; height?: number; width?: number }) {
  const pad = { l: 40, r: 24, t: 14, b: 36 };
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) return <div className="empty">No data points to chart.</div>;
  const minX = Math.min(...all.map((p) => p.x));
  const maxX = Math.max(...all.map((p) => p.x));
  const maxY = niceMax(Math.max(...all.map((p) => p.y)));
  const minY = Math.min(0, ...all.map((p) => p.y));
  const sx = (x: number) => pad.l + (maxX === minX ? 0.5 : (x - minX) / (maxX - minX)) * (width - pad.l - pad.r);
  const sy = (y: number) => height - pad.b - ((y - minY) / (maxY - minY || 1)) * (height - pad.t - pad.b);
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => minY + f * (maxY - minY));
  const xTicks = maxX === minX ? [minX] : [0, 0.33, 0.66, 1].map((f) => minX + f * (maxX - minX));
  return (
    <figure className="chart" data-testid="chart" data-chart="timechart">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={title}>
        {ticks.map((t) => (
          <g key={t} className="grid"><line x1={pad.l} x2={width - pad.r} y1={sy(t)} y2={sy(t)} /><text x={pad.l - 6} y={sy(t) + 4} textAnchor="end">{Math.round(t * 100) / 100}</text></g>
        ))}
        {xTicks.map((t, i) => (
          <text key={t} className="axis" x={sx(t)} y={height - 12} textAnchor={xTicks.length > 1 && i === xTicks.length - 1 ? 'end' : i === 0 && xTicks.length > 1 ? 'start' : 'middle'}>{new Date(t).toISOString().slice(5, 16).replace('T', ' ')}</text>
        ))}
        {series.map((s, i) => {
          const pts = [...s.points].sort((a, b) => a.x - b.x);
          return (
            <g key={s.name} className={`series c${i % PALETTE}`}>
              <polyline fill="none" points={pts.map((p) => `${sx(p.x)},${sy(p.y)}`).join(' ')} />
              {pts.length <= 60 ? pts.map((p) => <circle key={p.x} cx={sx(p.x)} cy={sy(p.y)} r="3"><title>{`${s.name}: ${p.y} at ${new Date(p.x).toISOString()}`}</title></circle>) : null}
            </g>
          );
        })}
      </svg>
      {series.length > 1 || series[0]?.name ? (
        <figcaption className="legend">{series.map((s, i) => <span key={s.name}><span className={`dot c${i % PALETTE}`} aria-hidden="true" /> {s.name}</span>)}</figcaption>
      ) : null}
    </figure>
  );
}

export function BarChart({ bars, title, height = 240, width = 720 }: { bars: { label: string; value: number; cls?: string }[]; title: string; height?: number; width?: number }) {
  if (bars.length === 0) return <div className="empty">No data to chart.</div>;
  const pad = { l: 48, r: 16, t: 12, b: 48 };
  const maxY = niceMax(Math.max(...bars.map((b) => b.value)));
  const bw = (width - pad.l - pad.r) / bars.length;
  const sy = (y: number) => height - pad.b - (y / maxY) * (height - pad.t - pad.b);
  return (
    <figure className="chart" data-testid="chart" data-chart="barchart">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={title}>
        {[0, 0.5, 1].map((f) => (
          <g key={f} className="grid"><line x1={pad.l} x2={width - pad.r} y1={sy(f * maxY)} y2={sy(f * maxY)} /><text x={pad.l - 6} y={sy(f * maxY) + 4} textAnchor="end">{Math.round(f * maxY * 100) / 100}</text></g>
        ))}
        {bars.map((b, i) => (
          <g key={`${b.label}-${i}`} className={`bar ${b.cls ?? `c${i % PALETTE}`}`}>
            <rect x={pad.l + i * bw + bw * 0.15} width={bw * 0.7} y={sy(b.value)} height={Math.max(0, height - pad.b - sy(b.value))}><title>{`${b.label}: ${b.value}`}</title></rect>
            <text className="axis" x={pad.l + i * bw + bw / 2} y={height - pad.b + 16} textAnchor="middle">{b.label.length > 14 ? `${b.label.slice(0, 13)}…` : b.label}</text>
            <text className="value" x={pad.l + i * bw + bw / 2} y={sy(b.value) - 4} textAnchor="middle">{b.value}</text>
          </g>
        ))}
      </svg>
    </figure>
  );
}

export function PieChart({ slices, title, size = 220 }: { slices: { label: string; value: number; cls?: string }[]; title: string; size?: number }) {
  const total = slices.reduce((a, s) => a + Math.max(0, s.value), 0);
  if (total === 0) return <div className="empty">No data to chart.</div>;
  const r = size / 2 - 4;
  const c = size / 2;
  let angle = -Math.PI / 2;
  return (
    <figure className="chart pie" data-testid="chart" data-chart="piechart">
      <svg viewBox={`0 0 ${size} ${size}`} width={size} height={size} role="img" aria-label={title}>
        {slices.map((s, i) => {
          const share = Math.max(0, s.value) / total;
          const cls = `slice ${s.cls ?? `c${i % PALETTE}`}`;
          if (share >= 0.9999) return <circle key={s.label} className={cls} cx={c} cy={c} r={r}><title>{`${s.label}: ${s.value}`}</title></circle>;
          const a0 = angle;
          const a1 = angle + share * 2 * Math.PI;
          angle = a1;
          const large = a1 - a0 > Math.PI ? 1 : 0;
          const d = `M ${c} ${c} L ${c + r * Math.cos(a0)} ${c + r * Math.sin(a0)} A ${r} ${r} 0 ${large} 1 ${c + r * Math.cos(a1)} ${c + r * Math.sin(a1)} Z`;
          return <path key={`${s.label}-${i}`} className={cls} d={d}><title>{`${s.label}: ${s.value}`}</title></path>;
        })}
      </svg>
      <figcaption className="legend">
        {slices.map((s, i) => <span key={`${s.label}-${i}`}><span className={`dot ${s.cls ?? `c${i % PALETTE}`}`} aria-hidden="true" /> {s.label} ({s.value})</span>)}
      </figcaption>
    </figure>
  );
}

const isTime = (v: unknown) => typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(v) && !Number.isNaN(Date.parse(v));
const isNum = (v: unknown) => typeof v === 'number' && Number.isFinite(v);

/** A chart for a hunting result's `render` operator, from its columns and rows. */
export function RenderedChart({ chart, columns, rows }: { chart: string; columns: string[]; rows: unknown[][] }) {
  const sample = rows.find((r) => r.some((v) => v !== null)) ?? [];
  const timeCol = columns.findIndex((_, i) => rows.some((r) => isTime(r[i])));
  const numCols = columns.map((_, i) => i).filter((i) => i !== timeCol && rows.some((r) => isNum(r[i])) && rows.every((r) => r[i] === null || isNum(r[i])));
  const labelCol = columns.findIndex((_, i) => i !== timeCol && !numCols.includes(i) && sample[i] !== undefined);
  const kind = chart.toLowerCase();
  if (numCols.length === 0) return <div className="notice">This result has no numeric column to chart.</div>;
  if (kind === 'timechart' || kind === 'linechart' || kind === 'areachart') {
    if (timeCol < 0) return <div className="notice">A timechart needs a datetime column.</div>;
    const series: Series[] = [];
    if (labelCol >= 0) {
      const by = new Map<string, Series>();
      for (const r of rows) {
        const name = str(r[labelCol]);
        if (!by.has(name)) by.set(name, { name, points: [] });
        by.get(name)!.points.push({ x: Date.parse(r[timeCol] as string), y: Number(r[numCols[0]]) });
      }
      series.push(...by.values());
    } else {
      for (const i of numCols) series.push({ name: columns[i], points: rows.map((r) => ({ x: Date.parse(r[timeCol] as string), y: Number(r[i]) })) });
    }
    return <TimeChart series={series} title={`Time chart of ${columns[numCols[0]]}`} />;
  }
  const label = (r: unknown[]) => (labelCol >= 0 ? str(r[labelCol]) : timeCol >= 0 ? str(r[timeCol]) : '');
  const items = rows.slice(0, 50).map((r) => ({ label: label(r), value: Number(r[numCols[0]]) }));
  if (kind === 'piechart') return <PieChart slices={items.slice(0, 12)} title={`Pie chart of ${columns[numCols[0]]}`} size={260} />;
  return <BarChart bars={items} title={`Bar chart of ${columns[numCols[0]]}`} />;
}
