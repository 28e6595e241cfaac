import { chmod, mkdir, readFile, rename, open } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The agent's state folder: identity, ReportId counter, finished command ids, spool, indicators and the
 * quarantine store. Everything is written atomically (temp file + rename) with owner-only permissions,
 * because the identity holds the sensor token and the private key.
 */
export interface StateDir {
  readonly root: string;
  path(...parts: string[]): string;
  readJson<T>(name: string): Promise<T | undefined>;
  /** Writes JSON atomically with mode 0600 and fsync, so a crash leaves the old or the new file, never half. */
  writeJson(name: string, value: unknown): Promise<void>;
}

export async function openStateDir(root: string): Promise<StateDir> {
  await mkdir(root, { recursive: true, mode: 0o700 });
  await chmod(root, 0o700);
  let tmpSeq = 0;
  const path = (...parts: string[]) => join(root, ...parts);
  return {
    root,
    path,
    async readJson<T>(name: string) {
      try {
        return JSON.parse(await readFile(path(name), 'utf8')) as T;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
    },
    async writeJson(name, value) {
      await writeFileAtomic(path(name), JSON.stringify(value), `${process.pid}.${tmpSeq++}`);
    },
  };
}

export async function writeFileAtomic(file: string, data: string | Buffer, suffix = `${process.pid}`): Promise<void> {
  const tmp = `${file}.${suffix}.tmp`;
  const handle = await open(tmp, 'w', 0o600);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await chmod(tmp, 0o600);
  await rename(tmp, file);
}


