import { lazy, Suspense, useEffect, useState, type ComponentType } from 'react';
import { AuthProvider, useAuth, type Role } from './auth';
import { LiveProvider, useLiveStatus } from './live';
import { Link, match, navigate, RouterProvider, useLocation } from './router';
import { finishProviderSignIn, isProviderCallback } from './oidc';
import { applyTheme, initialTheme, type Theme } from './theme';
import { ErrorView, Loading } from './components/ui';
import { SignIn } from './pages/SignIn';

// Each page is its own chunk: the first paint loads only the shell and the page in view.
const Dashboard = lazy(() => import('./pages/Dashboard'));
const Incidents = lazy(() => import('./pages/Incidents'));
const Incident = lazy(() => import('./pages/Incident'));
const Alert = lazy(() => import('./pages/Alert'));
const Devices = lazy(() => import('./pages/Devices'));
const Device = lazy(() => import('./pages/Device'));
const Users = lazy(() => import('./pages/Users'));
const User = lazy(() => import('./pages/User'));
const Actions = lazy(() => import('./pages/Actions'));
const Indicators = lazy(() => import('./pages/Indicators'));
const Hunting = lazy(() => import('./pages/Hunting'));
const Rules = lazy(() => import('./pages/Rules'));
const Settings = lazy(() => import('./pages/Settings'));

interface RouteDef { path: string; page: ComponentType<{ params: Record<string, string> }>; nav?: string; minRole?: Role }
const ROUTES: RouteDef[] = [
  { path: '/', page: Dashboard, nav: 'Dashboard' },
  { path: '/incidents', page: Incidents, nav: 'Incidents' },
  { path: '/incidents/:id', page: Incident },
  { path: '/alerts/:id', page: Alert },
  { path: '/devices', page: Devices, nav: 'Devices' },
  { path: '/devices/:id', page: Device },
  { path: '/users', page: Users, nav: 'Users' },
  { path: '/users/:id', page: User },
  { path: '/actions', page: Actions, nav: 'Action center' },
  { path: '/indicators', page: Indicators, nav: 'Indicators' },
  { path: '/hunting', page: Hunting, nav: 'Hunting' },
  { path: '/rules', page: Rules, nav: 'Rules' },
  { path: '/settings', page: Settings, nav: 'Settings', minRole: 'admin' },
];

export function App() {
  return (
    <RouterProvider>
      <AuthProvider>
        <Gate />
      </AuthProvider>
    </RouterProvider>
  );
}

function Gate() {
  const { me, loading, error, completeSignIn } = useAuth();
  const [theme, setTheme] = useState<Theme>(initialTheme);
  const [callbackError, setCallbackError] = useState<Error | null>(null);
  const [inCallback, setInCallback] = useState(isProviderCallback);
  useEffect(() => applyTheme(theme), [theme]);
  useEffect(() => {
    if (!inCallback) return;
    // Back from the identity provider: exchange the code, then continue at the dashboard.
    finishProviderSignIn()
      .then((token) => completeSignIn(token))
      .catch((e: Error) => setCallbackError(e))
      .finally(() => { setInCallback(false); navigate('/', { replace: true }); });
  }, []); // eslint-disable-line react-hooks/exhaustive-deps
  const toggle = () => setTheme(theme === 'dark' ? 'light' : 'dark');
  if (inCallback || loading) return <Loading label="Signing in…" />;
  if (!me && callbackError) return <SignIn theme={theme} onToggleTheme={toggle} error={callbackError} />;
  if (!me) return <SignIn theme={theme} onToggleTheme={toggle} error={error} />;
  return (
    <LiveProvider>
      <Shell theme={theme} onToggleTheme={toggle} />
    </LiveProvider>
  );
}

function Shell({ theme, onToggleTheme }: { theme: Theme; onToggleTheme(): void }) {
  const { me, signOut, can } = useAuth();
  const { pathname } = useLocation();
  const live = useLiveStatus();
  let found: { route: RouteDef; params: Record<string, string> } | undefined;
  for (const route of ROUTES) {
    const params = match(route.path, pathname);
    if (params) { found = { route, params }; break; }
  }
  useEffect(() => {
    const name = found?.route.nav ?? (found ? found.route.path.split('/')[1] : 'Not found');
    document.title = `${name ? name[0].toUpperCase() + name.slice(1) : 'Vigil'} · Vigil`;
  }, [found?.route.path]); // eslint-disable-line react-hooks/exhaustive-deps
  const Page = found?.route.page;
  const section = '/' + (pathname.split('/')[1] ?? '');
  return (
    <div className="shell">
      <a className="skip" href="#main">Skip to content</a>
      <nav className="sidebar" aria-label="Main">
        <div className="sidebar-inner">
        <div className="brand"><span className="logo" aria-hidden="true">◆</span> Vigil</div>
        <ul>
          {ROUTES.filter((r) => r.nav && (!r.minRole || can(r.minRole))).map((r) => (
            <li key={r.path}>
              <Link to={r.path} aria-current={section === r.path ? 'page' : undefined}>{r.nav}</Link>
            </li>
          ))}
        </ul>
        <div className="sidebar-foot">
          <span className={`live-dot ${live}`} aria-hidden="true" />
          <span data-testid="live-status">{live === 'live' ? 'Live' : live === 'unavailable' ? 'Live updates unavailable (polling)' : live === 'reconnecting' ? 'Reconnecting…' : 'Connecting…'}</span>
        </div>
        </div>
      </nav>
      <div className="main-col">
        <header className="topbar">
          <span className="spacer" />
          <button type="button" className="ghost" onClick={onToggleTheme} aria-label={`Switch to ${theme === 'dark' ? 'light' : 'dark'} theme`}>
            {theme === 'dark' ? '☀ Light' : '☾ Dark'}
          </button>
          <span className="who" data-testid="whoami">{me!.name} <span className="badge plain">{me!.role}</span></span>
          <button type="button" className="secondary" onClick={() => void signOut()}>Sign out</button>
        </header>
        <main id="main" tabIndex={-1}>
          <Suspense fallback={<Loading />}>
            {Page && (!found!.route.minRole || can(found!.route.minRole))
              ? <Page key={pathname} params={found!.params} />
              : <NotFound />}
          </Suspense>
        </main>
      </div>
    </div>
  );
}

function NotFound() {
  return (
    <div>
      <h1>Page not found</h1>
      <ErrorView error={new Error('There is no page at this address, or your role may not open it.')} />
      <p><Link to="/">Back to the dashboard</Link></p>
    </div>
  );
}
