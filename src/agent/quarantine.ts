import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, chown, lstat, mkdir, open, readdir, readFile, rename, stat, unlink, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { ulid } from 'ulid';
import { writeFileAtomic } from './state-dir.js';

/** What the store remembers of a quarantined file. */
export interface QuarantineItem {
  readonly id: string;
  readonly originalPath: string;
  readonly sha256: string;
  readonly sha1?: string;
  readonly md5?: string;
  readonly size: number;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly mtimeMs: number;
  readonly quarantinedAt: string;
  readonly threatName?: string;
  readonly engine?: string;
}

export interface QuarantineStore {
  /** Moves the file into the store (gzip, then AES-256-CTR, mode 000), then deletes the original. */
  quarantine(path: string, info: { sha256: string; sha1?: string; md5?: string; threatName?: string; engine?: string }): Promise<QuarantineItem>;
  /** Puts the newest item with this SHA-256 back where it was, with its mode and owner. */
  restore(sha256: string): Promise<QuarantineItem>;
  list(): Promise<QuarantineItem[]>;
}

/**
 * A root-only (0700) quarantine folder. Items are defanged — compressed and encrypted with a per-store
 * key, stored with mode 000 — so nothing can execute or even read them in place, and a scanner looking
 * at the folder sees noise; metadata beside each item makes it restorable.
 */
export async function createQuarantineStore(dir: string): Promise<QuarantineStore> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const keyFile = join(dir, 'store.key');
  let key: Buffer;
  try {
    key = await readFile(keyFile);
  } catch {
    key = randomBytes(32);
    await writeFileAtomic(keyFile, key);
  }

  async function list(): Promise<QuarantineItem[]> {
    const items: QuarantineItem[] = [];
    for (const name of await readdir(dir)) {
      if (!name.endsWith('.json')) continue;
      try { items.push(JSON.parse(await readFile(join(dir, name), 'utf8'))); } catch { /* half-written: ignore */ }
    }
    return items.sort((a, b) => a.quarantinedAt.localeCompare(b.quarantinedAt));
  }

  return {
    list,
    async quarantine(path, info) {
      const st = await lstat(path);
      if (!st.isFile()) throw new Error(`${path} is not a regular file`);
      const id = ulid();
      const iv = randomBytes(16);
      const blob = join(dir, `${id}.bin`);
      const tmp = `${blob}.tmp`;
      // Take the file out of reach first (same file system: rename is atomic), then defang the copy.
      let source = path;
      const staging = join(dirname(path), `.vigil-q-${id}`);
      try { await rename(path, staging); source = staging; } catch { /* other fs or no write access to the folder: read in place */ }
      try {
        await chmod(source, 0o000).catch(() => {});
        const out = createWriteStream(tmp, { mode: 0o600 });
        out.write(iv);
        await pipeline(createReadStream(source), createGzip(), createCipheriv('aes-256-ctr', key, iv), out);
        await chmod(tmp, 0o000);
        await rename(tmp, blob);
        const item: QuarantineItem = {
          id, originalPath: path, sha256: info.sha256, sha1: info.sha1, md5: info.md5, size: st.size, mode: st.mode & 0o7777,
          uid: st.uid, gid: st.gid, mtimeMs: st.mtimeMs, quarantinedAt: new Date().toISOString(), threatName: info.threatName, engine: info.engine,
        };
        await writeFileAtomic(join(dir, `${id}.json`), JSON.stringify(item, null, 2));
        await unlink(source);
        return item;
      } catch (error) {
        if (source !== path) await rename(source, path).catch(() => {});
        await unlink(tmp).catch(() => {});
        throw error;
      }
    },
    async restore(sha256) {
      const items = (await list()).filter((i) => i.sha256 === sha256.toLowerCase());
      const item = items[items.length - 1];
      if (!item) throw new Error(`nothing with SHA-256 ${sha256} in quarantine`);
      if (await stat(item.originalPath).then(() => true, () => false)) throw new Error(`${item.originalPath} exists; not overwriting it`);
      const blob = join(dir, `${item.id}.bin`);
      await chmod(blob, 0o600);
      await mkdir(dirname(item.originalPath), { recursive: true });
      const tmp = `${item.originalPath}.vigil-restore-${item.id}`;
      const input = createReadStream(blob, { start: 16 });
      const fh = await open(blob, 'r');
      const head = Buffer.alloc(16);
      try { await fh.read(head, 0, 16, 0); } finally { await fh.close(); }
      await pipeline(input, createDecipheriv('aes-256-ctr', key, head), createGunzip(), createWriteStream(tmp, { mode: 0o600 }));
      await chown(tmp, item.uid, item.gid).catch(() => {});
      await chmod(tmp, item.mode);
      await utimes(tmp, new Date(), new Date(item.mtimeMs));
      await rename(tmp, item.originalPath);
      await unlink(blob);
      await unlink(join(dir, `${item.id}.json`));
      return item;
    },
  };
}
