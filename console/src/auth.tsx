// Who is signed in, and what their role lets them do. Controls a role may not use are not rendered;
// the API refuses them anyway.
import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from 'react';
import { api, ApiError, getToken, onUnauthorized, setToken } from './api';

export type Role = 'reader' | 'analyst' | 'responder' | 'admin';
export interface Me { kind: string; id: string; name: string; role: Role | 'sensor' }

const RANK: Record<string, number> = { reader: 1, analyst: 2, responder: 3, admin: 4 };

/**
 * A way to sign in. Password sign-in is built in; another method (e.g. OIDC through Vigil's identity
 * provider) adds an entry here that starts its own flow and ends by calling `completeSignIn(token)`.
 */
export interface SignInMethod {
  readonly id: string;
  readonly label: string;
  /** Starts the flow (e.g. a redirect to the authorization endpoint). */
  start(): void;
}
export const EXTRA_SIGN_IN_METHODS: SignInMethod[] = [];

interface AuthState {
  me: Me | null;
  loading: boolean;
  error: ApiError | null;
  signIn(username: string, password: string): Promise<void>;
  completeSignIn(token: string): Promise<void>;
  signOut(): Promise<void>;
  /** True when the signed-in role is at least `role`. */
  can(role: Role): boolean;
}

const AuthContext = createContext<AuthState | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const [me, setMe] = useState<Me | null>(null);
  const [loading, setLoading] = useState<boolean>(() => getToken() !== null);
  const [error, setError] = useState<ApiError | null>(null);

  const loadMe = useCallback(async () => {
    setLoading(true);
    try {
      setMe(await api.get<Me>('/api/v1/me'));
      setError(null);
    } catch (e) {
      setMe(null);
      if (e instanceof ApiError && e.status === 401) setToken(null);
      else setError(e as ApiError);
    } finally {
      setLoading(false);
    }
  }, []);

  useEffect(() => {
    onUnauthorized(() => {
      setToken(null);
      setMe(null);
    });
    if (getToken()) void loadMe();
  }, [loadMe]);

  const completeSignIn = useCallback(async (token: string) => {
    setToken(token);
    await loadMe();
  }, [loadMe]);

  const value: AuthState = {
    me, loading, error,
    async signIn(username, password) {
      const session = await api.post<{ token: string }>('/api/v1/auth/login', { username, password });
      await completeSignIn(session.token);
    },
    completeSignIn,
    async signOut() {
      try {
        await api.post('/api/v1/auth/logout');
      } catch {
        // The session is dropped locally either way.
      }
      setToken(null);
      setMe(null);
    },
    can: (role) => (me ? (RANK[me.role] ?? 0) >= RANK[role] : false),
  };
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthState {
  const value = useContext(AuthContext);
  if (!value) throw new Error('useAuth outside AuthProvider');
  return value;
}

/** Renders its children only when the signed-in role is at least `role`. */
export function RequireRole({ role, children }: { role: Role; children: ReactNode }) {
  return useAuth().can(role) ? <>{children}</> : null;
}
