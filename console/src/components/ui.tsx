import { useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { ApiError } from '../api';
import { str, titleCase } from '../format';

export function ErrorView({ error, what }: { error: unknown; what?: string }) {
  if (!error) return null;
  if (error instanceof ApiError && error.missingRoute) {
    return (
      <div className="notice unavailable" role="status" data-testid="not-available">
        <strong>Not available yet.</strong>{' '}
        {what ? `${what}: ` : ''}this server does not offer <code>{error.method} {error.path.split('?')[0]}</code> yet — the module
        behind it has not been installed. Other pages keep working.
      </div>
    );
  }
  const message = error instanceof Error ? error.message : str(error);
  const code = error instanceof ApiError ? error.code : undefined;
  return (
    <div className="notice error" role="alert">
      <strong>{what ? `${what} failed` : 'Something went wrong'}:</strong> {message}
      {code && code !== 'network' ? <span className="muted"> ({code})</span> : null}
    </div>
  );
}

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return <div className="loading" role="status" aria-live="polite">{label}</div>;
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="empty">{children}</div>;
}

export function Badge({ value, kind }: { value: unknown; kind?: 'severity' | 'status' | 'risk' | 'compliance' | 'state' | 'plain' }) {
  const text = str(value);
  if (!text) return <span className="muted">—</span>;
  const cls = `badge ${kind ?? 'plain'} v-${text.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  return <span className={cls}>{titleCase(text)}</span>;
}

export function PageHeader({ title, children, sub }: { title: ReactNode; children?: ReactNode; sub?: ReactNode }) {
  return (
    <header className="page-header">
      <div>
        <h1>{title}</h1>
        {sub ? <div className="sub">{sub}</div> : null}
      </div>
      {children ? <div className="page-actions">{children}</div> : null}
    </header>
  );
}

export function Card({ title, children, actions, className }: { title?: ReactNode; children: ReactNode; actions?: ReactNode; className?: string }) {
  return (
    <section className={`card ${className ?? ''}`}>
      {title || actions ? (
        <div className="card-head">
          {title ? <h2>{title}</h2> : <span />}
          {actions}
        </div>
      ) : null}
      {children}
    </section>
  );
}

export function Field({ label, children, hint }: { label: string; children: (id: string) => ReactNode; hint?: ReactNode }) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children(id)}
      {hint ? <div className="hint">{hint}</div> : null}
    </div>
  );
}

export function KeyValues({ items }: { items: [string, ReactNode][] }) {
  return (
    <dl className="kv">
      {items.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v === undefined || v === null || v === '' ? <span className="muted">—</span> : v}</dd>
        </div>
      ))}
    </dl>
  );
}

export function Result({ error, done, what }: { error: Error | null; done: string | null; what?: string }) {
  if (error) return <ErrorView error={error} what={what} />;
  if (done) return <div className="notice ok" role="status">{done}</div>;
  return null;
}

/** A modal dialog with focus kept inside it; Escape closes. */
export function Dialog({ title, onClose, children }: { title: string; onClose(): void; children: ReactNode }) {
  const ref = useRef<HTMLDivElement>(null);
  const titleId = useId();
  useEffect(() => {
    const previous = document.activeElement as HTMLElement | null;
    const first = ref.current?.querySelector<HTMLElement>('input, select, textarea, button');
    first?.focus();
    return () => previous?.focus();
  }, []);
  return (
    <div className="dialog-backdrop" onMouseDown={(e) => { if (e.target === e.currentTarget) onClose(); }}>
      <div
        className="dialog" role="dialog" aria-modal="true" aria-labelledby={titleId} ref={ref}
        onKeyDown={(e) => {
          if (e.key === 'Escape') onClose();
          if (e.key === 'Tab' && ref.current) {
            const focusable = [...ref.current.querySelectorAll<HTMLElement>('a[href], button, input, select, textarea, [tabindex="0"]')].filter((el) => !el.hasAttribute('disabled'));
            if (focusable.length === 0) return;
            const first = focusable[0];
            const last = focusable[focusable.length - 1];
            if (e.shiftKey && document.activeElement === first) { e.preventDefault(); last.focus(); }
            else if (!e.shiftKey && document.activeElement === last) { e.preventDefault(); first.focus(); }
          }
        }}
      >
        <div className="card-head">
          <h2 id={titleId}>{title}</h2>
          <button type="button" className="ghost" onClick={onClose} aria-label="Close">✕</button>
        </div>
        {children}
      </div>
    </div>
  );
}

/** Buttons asking "are you sure" inline before a consequential action. */
export function ConfirmButton({ label, confirm, onConfirm, className, disabled }: { label: string; confirm: string; onConfirm(): void; className?: string; disabled?: boolean }) {
  const [asking, setAsking] = useState(false);
  if (!asking) return <button type="button" className={className} disabled={disabled} onClick={() => setAsking(true)}>{label}</button>;
  return (
    <span className="confirm">
      <span>{confirm}</span>
      <button type="button" className="danger" onClick={() => { setAsking(false); onConfirm(); }}>Yes, {label.toLowerCase()}</button>
      <button type="button" className="ghost" onClick={() => setAsking(false)}>Cancel</button>
    </span>
  );
}

export function Tabs({ tabs, value, onChange }: { tabs: { id: string; label: ReactNode }[]; value: string; onChange(id: string): void }) {
  return (
    <div className="tabs" role="tablist">
      {tabs.map((t) => (
        <button
          key={t.id} type="button" role="tab" aria-selected={t.id === value} className={t.id === value ? 'active' : ''}
          onClick={() => onChange(t.id)}
          onKeyDown={(e) => {
            const i = tabs.findIndex((x) => x.id === value);
            if (e.key === 'ArrowRight') onChange(tabs[(i + 1) % tabs.length].id);
            if (e.key === 'ArrowLeft') onChange(tabs[(i - 1 + tabs.length) % tabs.length].id);
          }}
        >
          {t.label}
        </button>
      ))}
    </div>
  );
}
