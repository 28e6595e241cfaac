import { createHash } from 'node:crypto';
import { createReadStream, readFile as readFileCb, statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { promisify } from 'node:util';

// The callback API: much less overhead per small file than fs/promises' FileHandle reads.
const readFile = promisify(readFileCb);

export interface FileHashes {
  readonly sha256: string;
  readonly sha1: string;
  readonly md5: string;
  readonly size: number;
  /** The first bytes of the file (for EICAR and magic checks), at most `headBytes`. */
  readonly head: Buffer;
  /** The whole content, for small files (read once: hashed and scanned from memory). */
  readonly content?: Buffer;
}

/** Files up to this size are read in one call instead of streamed. */
const SMALL = 1024 * 1024;

/** SHA-256, SHA-1 and MD5 in one read of the file. Files larger than maxBytes are not hashed (undefined). */
export async function hashFile(path: string, maxBytes = 512 * 1024 * 1024, headBytes = 4096): Promise<FileHashes | undefined> {
  const info = await stat(path);
  if (!info.isFile() || info.size > maxBytes) return undefined;
  if (info.size <= SMALL) {
    const content = await readFile(path);
    if (content.length <= SMALL) {
      return {
        sha256: createHash('sha256').update(content).digest('hex'), sha1: createHash('sha1').update(content).digest('hex'),
        md5: createHash('md5').update(content).digest('hex'), size: content.length, head: content.subarray(0, headBytes),
        content: headBytes > 0 ? content : undefined,
      };
    }
  }
  const sha256 = createHash('sha256');
  const sha1 = createHash('sha1');
  const md5 = createHash('md5');
  const headParts: Buffer[] = [];
  let headLength = 0;
  let size = 0;
  await new Promise<void>((resolve, reject) => {
    const stream = createReadStream(path, { highWaterMark: 64 * 1024 });
    stream.on('data', (chunk) => {
      const b = chunk as Buffer;
      sha256.update(b);
      sha1.update(b);
      md5.update(b);
      size += b.length;
      if (headLength < headBytes) {
        const part = b.subarray(0, headBytes - headLength);
        headParts.push(part);
        headLength += part.length;
      }
    });
    stream.on('error', reject);
    stream.on('end', resolve);
  });
  return { sha256: sha256.digest('hex'), sha1: sha1.digest('hex'), md5: md5.digest('hex'), size, head: Buffer.concat(headParts) };
}

/**
 * Hashes of executables, cached by (device, inode, size, mtime) so a binary started a thousand times is
 * read once. Bounded: the oldest entries go first.
 */
export interface HashCache {
  get(path: string): Promise<FileHashes | undefined>;
}

export function createHashCache(limit = 2048): HashCache {
  const cache = new Map<string, Promise<FileHashes | undefined>>();
  return {
    async get(path) {
      let info;
      try { info = statSync(path); } catch { return undefined; }
      const key = `${info.dev}:${info.ino}:${info.size}:${info.mtimeMs}`;
      let hit = cache.get(key);
      if (hit) {
        cache.delete(key);
        cache.set(key, hit);
        return hit;
      }
      hit = hashFile(path, 256 * 1024 * 1024, 0).catch(() => undefined);
      cache.set(key, hit);
      if (cache.size > limit) cache.delete(cache.keys().next().value!);
      return hit;
    },
  };
}
