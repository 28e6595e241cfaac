import { VigilError } from '../errors/index.js';
import { OPTIONS, type VigilConfig } from './defaults.js';

/**
 * Builds the typed configuration from flags (first), environment (second) and defaults; fails fast on
 * anything malformed, naming the option.
 */
export function resolveConfig(input: { env: Readonly<Record<string, string | undefined>>; argv: readonly string[] }): VigilConfig {
  const flags = new Map<string, string>();
  for (let i = 0; i < input.argv.length; i++) {
    const arg = input.argv[i];
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const spec = OPTIONS.find((o) => o.flag === name);
    if (!spec) throw new VigilError('bad_config', 2, `unknown option ${name} (see README for the options)`);
    const value = eq > 0 ? arg.slice(eq + 1) : input.argv[++i];
    if (value === undefined) throw new VigilError('bad_config', 2, `option ${name} needs a value`);
    flags.set(spec.key, value);
  }
  const raw = (key: keyof VigilConfig) => {
    const spec = OPTIONS.find((o) => o.key === key)!;
    return flags.get(key) ?? input.env[spec.env] ?? spec.default;
  };
  const int = (key: keyof VigilConfig, min: number, max: number) => {
    const text = raw(key);
    const n = Number(text);
    const spec = OPTIONS.find((o) => o.key === key)!;
    if (!Number.isInteger(n) || n < min || n > max) throw new VigilError('bad_config', 2, `${spec.flag} / ${spec.env} must be an integer from ${min} to ${max}, got '${text}'`);
    return n;
  };
  const sync = raw('sync');
  if (sync !== 'normal' && sync !== 'full') throw new VigilError('bad_config', 2, `--sync / VIGIL_SYNC must be 'normal' or 'full', got '${sync}'`);
  const logLevel = raw('logLevel');
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    throw new VigilError('bad_config', 2, `--log-level / VIGIL_LOG_LEVEL must be one of fatal, error, warn, info, debug, got '${logLevel}'`);
  }
  const orUndefined = (v: string) => (v === '' ? undefined : v);
  const huntingIndexes = raw('huntingIndexes');
  if (huntingIndexes !== 'on' && huntingIndexes !== 'off') throw new VigilError('bad_config', 2, `--hunting-indexes / VIGIL_HUNTING_INDEXES must be 'on' or 'off', got '${huntingIndexes}'`);
  const bus = raw('bus');
  if (bus !== 'memory' && !bus.split(',').every((url) => /^(nats|tls):\/\/[^\s/]+$/.test(url.trim()))) {
    throw new VigilError('bad_config', 2, `--bus / VIGIL_BUS must be 'memory' or NATS URLs like nats://127.0.0.1:4222, got '${bus}'`);
  }
  return {
    dataDir: raw('dataDir'),
    host: raw('host'),
    port: int('port', 0, 65535),
    publicUrl: orUndefined(raw('publicUrl')),
    bodyLimitBytes: int('bodyLimitBytes', 1024, 1024 * 1024 * 1024),
    logLevel,
    sync,
    adminPassword: orUndefined(raw('adminPassword')),
    adminToken: orUndefined(raw('adminToken')),
    huntingIndexes: huntingIndexes === 'on',
    huntTimeoutMs: int('huntTimeoutMs', 1000, 24 * 3600 * 1000),
    sigmaPlaceholders: orUndefined(raw('sigmaPlaceholders')),
    bus,
  };
}
