import { resolveConfig } from '../config/index.js';
import { createPlatform } from '../server.js';

/** `vigil serve`: the platform, until SIGINT/SIGTERM, then a graceful stop. */
export async function runServe(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const config = resolveConfig({ env, argv });
  const platform = await createPlatform(config);
  const out = process.stdout;
  out.write(`\nVigil is running.\n  Console and API: ${platform.url}/\n  Data folder:     ${config.dataDir}\n`);
  if (platform.firstAdmin) {
    out.write(`\n  First sign-in (shown once, store it now):\n    username: ${platform.firstAdmin.username}\n    password: ${platform.firstAdmin.password}\n`);
  } else if (config.adminPassword) {
    out.write('\n  Sign in as admin with the password from VIGIL_ADMIN_PASSWORD.\n');
  }
  if (config.adminToken) out.write('  VIGIL_ADMIN_TOKEN is set: it is accepted as an admin API token.\n');
  out.write('\n');
  await new Promise<void>((resolveStop) => {
    const stop = (signal: string) => {
      platform.app.log.info({ signal }, 'shutting down: finishing requests in flight');
      resolveStop();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await platform.close();
  return 0;
}
