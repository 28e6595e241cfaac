// Builds the SOC console (console/ → console/dist) with Vite. Run by `npm install` (prepare) and
// `npm run console:build`. --no-fail (prepare) reports a failed build without failing the install. Skips with a notice when Vite is not installed (npm install --omit=dev);
// vigil serve then shows a "console not built" page instead of the console.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const repo = dirname(dirname(fileURLToPath(import.meta.url)));
const require = createRequire(join(repo, 'package.json'));
let viteBin;
try {
  viteBin = join(dirname(require.resolve('vite/package.json')), 'bin', 'vite.js');
} catch {
  console.warn('vigil: vite is not installed (dev dependencies omitted); the console was not built.');
  process.exit(0);
}
const quiet = process.argv.includes('--quiet');
const result = spawnSync(process.execPath, [viteBin, 'build', join(repo, 'console'), '--logLevel', quiet ? 'warn' : 'info'], {
  stdio: 'inherit',
  cwd: repo,
});
if (result.status !== 0 && process.argv.includes('--no-fail')) {
  // From `prepare`: a console that does not build must not stop `npm install`/`npm ci` of the platform.
  // vigil serve then answers / with "console not built"; `npm run console:build` shows the error.
  console.warn('vigil: the console build failed (see above); the API works, the console is not served. Run npm run console:build.');
  process.exit(0);
}
process.exit(result.status ?? 1);
