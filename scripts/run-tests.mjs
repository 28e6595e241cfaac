// `npm test`: runs every test file listed in scripts/test-files.txt with node's built-in runner
// (Node 20 does not expand globs itself). Its summary lines end the output.
import { spawnSync } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';

const listed = readFileSync(new URL('./test-files.txt', import.meta.url), 'utf8')
  .split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
const missing = listed.filter((f) => !existsSync(f));
if (missing.length) {
  console.error(`scripts/test-files.txt lists files that do not exist:\n  ${missing.join('\n  ')}`);
  process.exit(1);
}
const files = process.argv.length > 2 ? process.argv.slice(2) : listed;
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-timeout=600000', ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
