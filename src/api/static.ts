// Serves the built SOC console (console/dist) at `/`: hashed assets cached for a year, the page
// itself revalidated every time, a strict Content-Security-Policy on everything it sends, and
// the console's own routes (/incidents/…) answered with index.html so deep links work.
import { readFile, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';

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

/** Registers GET (and HEAD) for every path not taken by another route; /api/* still answers the JSON 404. */
export function registerConsoleRoutes(app: FastifyInstance, options: ConsoleOptions): void {
  const root = resolve(typeof options.distDir === 'string' ? options.distDir : fileURLToPath(options.distDir));
  const rootPrefix = root.endsWith(sep) ? root : root + sep;

  app.get('/*', async (request, reply) => {
    const path = decodeURIComponentSafe(request.url.split('?')[0]);
    if (path === null || path.startsWith('/api/') || path === '/api') return reply.callNotFound();
    securityHeaders(reply);
    if (!existsSync(join(root, 'index.html'))) {
      return reply.status(503).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(NOT_BUILT);
    }
    const file = resolve(root, '.' + normalize(path));
    if (file !== root && !file.startsWith(rootPrefix)) return reply.callNotFound();
    const info = await stat(file).catch(() => null);
    if (info?.isFile()) {
      const type = TYPES[extname(file)] ?? 'application/octet-stream';
      // Vite names built assets by content hash: they never change under the same name.
      const immutable = path.startsWith('/assets/');
      reply.header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
      return reply.type(type).send(await readFile(file));
    }
    // A file-like path that does not exist is a 404; anything else is a console route.
    if (extname(path) !== '') return reply.callNotFound();
    reply.header('cache-control', 'no-cache');
    return reply.type(TYPES['.html']).send(await readFile(join(root, 'index.html')));
  });
}

function decodeURIComponentSafe(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}
