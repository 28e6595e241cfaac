import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { VigilError } from '../errors/index.js';
import { createAuditLog } from '../response/index.js';
import { createSqliteStore } from '../store/index.js';

const USAGE = 'usage: vigil audit verify [--data DIR]\n\n  Checks the hash chain of the audit log and names the first broken link (exit 1 when broken).\n';

/** `vigil audit verify [--data DIR]`: checks the audit log's hash chain in a data folder. */
export async function runAudit(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    process.stdout.write(USAGE);
    return sub === undefined ? 2 : 0;
  }
  if (sub !== 'verify') throw new VigilError('bad_config', 2, `unknown audit command '${sub}'\n\n${USAGE}`);
  let dataDir = env.VIGIL_DATA || './data';
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    if (arg === '--data') {
      const value = rest[++i];
      if (!value) throw new VigilError('bad_config', 2, '--data needs a folder');
      dataDir = value;
    } else if (arg.startsWith('--data=')) {
      dataDir = arg.slice('--data='.length);
    } else {
      throw new VigilError('bad_config', 2, `unknown option ${arg}\n\n${USAGE}`);
    }
  }
  const file = join(resolve(dataDir), 'vigil.db');
  if (!existsSync(file)) throw new VigilError('bad_config', 2, `no Vigil database in ${resolve(dataDir)} (expected ${file})`);
  const store = await createSqliteStore({ file });
  try {
    const audit = await createAuditLog({ store });
    const result = await audit.verify();
    if (result.ok) {
      process.stdout.write(`audit log intact: ${result.checked} entr${result.checked === 1 ? 'y' : 'ies'} checked\n`);
      return 0;
    }
    const broken = result.firstBroken!;
    process.stdout.write(`audit log BROKEN at entry ${broken.seq}: ${broken.reason} (${result.checked} entr${result.checked === 1 ? 'y' : 'ies'} checked)\n`);
    return 1;
  } finally {
    await store.close();
  }
}
