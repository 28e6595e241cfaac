import { useEffect, useState, type FormEvent } from 'react';
import { discoverProvider, startProviderSignIn } from '../oidc';
import { EXTRA_SIGN_IN_METHODS, useAuth } from '../auth';
import { ErrorView } from '../components/ui';
import type { Theme } from '../theme';

export function SignIn({ theme, onToggleTheme, error }: { theme: Theme; onToggleTheme(): void; error: Error | null }) {
  const { signIn } = useAuth();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [pending, setPending] = useState(false);
  const [failure, setFailure] = useState<Error | null>(null);
  const [provider, setProvider] = useState<Awaited<ReturnType<typeof discoverProvider>>>(null);
  useEffect(() => { void discoverProvider().then(setProvider); }, []);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setPending(true);
    setFailure(null);
    try {
      await signIn(username, password);
    } catch (e) {
      setFailure(e as Error);
    } finally {
      setPending(false);
    }
  };
  return (
    <div className="signin">
      <main className="signin-card card" id="main">
        <div className="brand big"><span className="logo" aria-hidden="true">◆</span> Vigil</div>
        <h1>Sign in to the SOC console</h1>
        <form onSubmit={submit} aria-label="Sign in">
          <div className="field">
            <label htmlFor="username">Username</label>
            <input id="username" name="username" autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} required autoFocus />
          </div>
          <div className="field">
            <label htmlFor="password">Password</label>
            <input id="password" name="password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required />
          </div>
          <ErrorView error={failure ?? error} what="Sign-in" />
          <button type="submit" className="primary wide" disabled={pending}>{pending ? 'Signing in…' : 'Sign in'}</button>
        </form>
        {provider || EXTRA_SIGN_IN_METHODS.length > 0 ? (
          <div className="signin-methods">
            <div className="muted">or</div>
            {provider ? <button type="button" className="secondary wide" onClick={() => void startProviderSignIn(provider)}>Sign in with Vigil single sign-on</button> : null}
            {EXTRA_SIGN_IN_METHODS.map((m) => <button key={m.id} type="button" className="secondary wide" onClick={() => m.start()}>{m.label}</button>)}
          </div>
        ) : null}
        <button type="button" className="ghost" onClick={onToggleTheme}>{theme === 'dark' ? '☀ Light theme' : '☾ Dark theme'}</button>
      </main>
    </div>
  );
}
