/**
 * Every configuration option, its environment variable, its flag and its default — the one place they
 * are documented. The README's option table is checked against this list by a test.
 */
export interface OptionSpec {
  readonly key: keyof VigilConfig;
  readonly env: string;
  readonly flag: string;
  readonly default: string;
  readonly description: string;
}

export interface VigilConfig {
  readonly dataDir: string;
  readonly host: string;
  readonly port: number;
  readonly publicUrl: string | undefined;
  readonly bodyLimitBytes: number;
  readonly logLevel: string;
  readonly sync: 'normal' | 'full';
  readonly adminPassword: string | undefined;
  readonly adminToken: string | undefined;
  readonly huntingIndexes: boolean;
  readonly huntTimeoutMs: number;
  readonly sigmaPlaceholders: string | undefined;
  /** 'memory', or the NATS server URL(s), comma-separated. */
  readonly bus: string;
}

export const OPTIONS: readonly OptionSpec[] = [
  { key: 'dataDir', env: 'VIGIL_DATA', flag: '--data', default: './data', description: 'Data folder: the SQLite database and keys live here.' },
  { key: 'host', env: 'VIGIL_HOST', flag: '--host', default: '127.0.0.1', description: 'Address to listen on. Use 0.0.0.0 to accept sensors from other machines.' },
  { key: 'port', env: 'VIGIL_PORT', flag: '--port', default: '8080', description: 'HTTP port (0 picks a free one).' },
  { key: 'publicUrl', env: 'VIGIL_PUBLIC_URL', flag: '--public-url', default: '', description: 'URL people and sensors use to reach this server (default: http://host:port).' },
  { key: 'bodyLimitBytes', env: 'VIGIL_BODY_LIMIT', flag: '--body-limit', default: '10485760', description: 'Largest request body in bytes; larger ingest batches get 413.' },
  { key: 'logLevel', env: 'VIGIL_LOG_LEVEL', flag: '--log-level', default: 'info', description: 'Log level of the JSON logs on stdout: fatal, error, warn, info, debug.' },
  { key: 'sync', env: 'VIGIL_SYNC', flag: '--sync', default: 'normal', description: "SQLite durability: 'normal' survives process crashes (kill -9), 'full' also power loss." },
  { key: 'adminPassword', env: 'VIGIL_ADMIN_PASSWORD', flag: '--admin-password', default: '', description: 'Password of the first admin, created on first start (printed once when unset).' },
  { key: 'adminToken', env: 'VIGIL_ADMIN_TOKEN', flag: '--admin-token', default: '', description: 'A fixed admin API token for automation (unset: none).' },
  { key: 'huntingIndexes', env: 'VIGIL_HUNTING_INDEXES', flag: '--hunting-indexes', default: 'off', description: "'on' adds (DeviceName, Timestamp) and (FileName, Timestamp) indexes: summarize … by DeviceName / FileName over large tables reads them instead of sorting every row (bench:hunt's figure needs 'on'); about half the ingest rate into those tables." },
  { key: 'sigmaPlaceholders', env: 'VIGIL_SIGMA_PLACEHOLDERS', flag: '--sigma-placeholders', default: '', description: 'YAML or JSON file of Sigma `|expand` placeholder values (`Admins: [alice, bob]`). Rules using a placeholder without values load disabled.' },
  { key: 'bus', env: 'VIGIL_BUS', flag: '--bus', default: 'memory', description: "Domain-event bus: 'memory' (in-process), or NATS server URLs (`nats://127.0.0.1:4222`, comma-separated): events go through a JetStream stream VIGIL with a durable consumer per subscriber, and survive restarts." },
  { key: 'huntTimeoutMs', env: 'VIGIL_HUNT_TIMEOUT_MS', flag: '--hunt-timeout', default: '600000', description: 'A hunting query running longer is cancelled (Defender: 10 minutes).' },
];
