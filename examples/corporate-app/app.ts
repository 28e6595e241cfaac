// A tiny corporate app protected by Vigil: node:http + the receiver library. It accepts Vigil access
// tokens for its resource and drops live sessions the moment Vigil pushes (or it polls) a CAEP event.
import { createServer, type Server } from 'node:http';
import { createReceiver, nodeMiddleware, type Receiver } from '../../src/receiver/index.js';
import { clientCredentials } from './sign-in.js';

export interface CorporateAppOptions {
  /** Vigil's base URL (the SSF transmitter issuer); the OIDC issuer is base + /oidc. */
  readonly vigilUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** This app's resource indicator (its tokens' `aud`). */
  readonly resource: string;
  readonly delivery?: 'push' | 'poll';
  readonly host?: string;
  readonly port?: number;
  readonly onEvent?: (event: { type: string; jti: string; subject: Record<string, unknown>; claims: Record<string, unknown> }) => void;
}

export interface CorporateApp {
  readonly url: string;
  readonly receiver: Receiver;
  readonly stream: Record<string, any>;
  close(): Promise<void>;
}

export async function startCorporateApp(options: CorporateAppOptions): Promise<CorporateApp> {
  const issuer = `${options.vigilUrl}/oidc`;
  const pushSecret = `Bearer corp-${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
  const delivery = options.delivery ?? 'push';
  const receiver = createReceiver({
    tokenIssuer: issuer, audience: options.resource, transmitterIssuer: options.vigilUrl, setAudience: options.clientId,
    realm: 'corporate-app', ...(delivery === 'push' ? { pushAuthorization: pushSecret } : {}), onEvent: options.onEvent,
  });
  const guard = nodeMiddleware(receiver, { publicPaths: ['/healthz'] });
  const server: Server = createServer((req, res) => {
    guard(req, res, () => {
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/healthz') { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{"status":"ok"}'); return; }
      if (path === '/api/me') {
        const claims = (req as typeof req & { vigil?: Record<string, unknown> }).vigil!;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ user: claims.sub, device: claims.did ?? null, client: claims.client_id }));
        return;
      }
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"error":"not_found"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const address = server.address();
  const url = `http://${options.host ?? '127.0.0.1'}:${typeof address === 'object' && address ? address.port : 0}`;
  let token: { value: string; until: number } | undefined;
  const accessToken = async () => {
    if (!token || token.until < Date.now()) {
      token = { value: await clientCredentials({ issuer, clientId: options.clientId, clientSecret: options.clientSecret, resource: `${options.vigilUrl}/ssf` }), until: Date.now() + 30 * 60_000 };
    }
    return token.value;
  };
  let stream: Record<string, any>;
  try {
    stream = await receiver.connect({
      accessToken, description: 'corporate-app',
      ...(delivery === 'push' ? { push: { endpointUrl: `${url}/ssf/events`, authorization: pushSecret } } : {}),
    });
  } catch (error) {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    throw error;
  }
  if (delivery === 'poll') receiver.startPolling();
  return {
    url, receiver, stream,
    async close() {
      await receiver.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
