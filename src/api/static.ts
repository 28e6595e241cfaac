// Serves the built SOC console (console/dist) at `/`: hashed assets cached for a year, the page
// itself revalidated every time, a strict Content-Security-Policy on everything it sends, and
// the console's own pages (/incidents/…) answered with index.html so deep links work.
import { readFile, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export interface ConsoleOptions {
  /** The folder `vite build console` wrote (console/dist), as a path or a file: URL. */
  readonly distDir: string | URL;
}

/** default-src 'self' and nothing inline: telemetry rendered by the console can never run as script. */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Vigil</title></head><body>
<h1>The Vigil console is not built</h1><p>Run <code>npm run console:build</code> (or <code>npm install</code>, which builds it) and reload.
The API is available under <code>/api/v1</code>.</p></body></html>`;

function securityHeaders(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', CONSOLE_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY')
    .header('cross-origin-opener-policy', 'same-origin');
}

/**
 * The console's own pages (console/src/App.tsx ROUTES). Only these paths, `/` and the built files are
 * registered, so every other path (the API, /oidc, /taxii2, /ssf, …) keeps its own routes and 404s.
 */
export const CONSOLE_SECTIONS = ['incidents', 'alerts', 'devices', 'users', 'actions', 'indicators', 'hunting', 'rules', 'settings'] as const;

/** Registers GET (and HEAD) for `/`, the console's pages (deep links get index.html) and the built assets. */
export function registerConsoleRoutes(app: FastifyInstance, options: ConsoleOptions): void {
  const root = resolve(typeof options.distDir === 'string' ? options.distDir : fileURLToPath(options.distDir));
  const rootPrefix = root.endsWith(sep) ? root : root + sep;

  const page = async (_request: FastifyRequest, reply: FastifyReply) => {
    securityHeaders(reply);
    const index = join(root, 'index.html');
    if (!existsSync(index)) {
      return reply.status(503).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(NOT_BUILT);
    }
    return reply.header('cache-control', 'no-cache').type(TYPES['.html']).send(await readFile(index));
  };

  const file = async (request: FastifyRequest, reply: FastifyReply) => {
    const path = decodeURIComponentSafe(request.url.split('?')[0]);
    if (path === null) return reply.callNotFound();
    const target = resolve(root, '.' + normalize(path));
    if (!target.startsWith(rootPrefix)) return reply.callNotFound();
    const info = await stat(target).catch(() => null);
    if (!info?.isFile()) return reply.callNotFound();
    securityHeaders(reply);
    // Vite names built assets by content hash: they never change under the same name.
    const immutable = path.startsWith('/assets/');
    reply.header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    return reply.type(TYPES[extname(target)] ?? 'application/octet-stream').send(await readFile(target));
  };

  app.get('/', page);
  app.get('/index.html', page);
  // Where Vigil's OpenID provider sends the console back after sign-in (client 'vigil-console').
  app.get('/oidc-callback', page);
  for (const section of CONSOLE_SECTIONS) {
    app.get(`/${section}`, page);
    app.get(`/${section}/*`, page);
  }
  app.get('/assets/*', file);
  app.get('/favicon.ico', file);
}

function decodeURIComponentSafe(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}
