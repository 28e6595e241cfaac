import { createHash, hash } from 'node:crypto';
import { close as closeCb, closeSync, open as openCb, openSync, read as readCb, readFile as readFileCb, readFileSync, readSync, statSync, type Stats } from 'node:fs';
import { promisify } from 'node:util';

// The callback API: much less overhead per file than fs/promises' FileHandle reads.
const readFile = promisify(readFileCb);
const open = promisify(openCb);
const close = promisify(closeCb);
const read = (fd: number, buffer: Buffer, offset: number, length: number, position: number | null) =>
  new Promise<number>((resolve, reject) => readCb(fd, buffer, offset, length, position, (error, n) => (error ? reject(error) : resolve(n))));

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
/**
 * Files up to this size are read synchronously: four thread-pool round trips (stat, open, read, close) cost
 * about ten times the CPU of reading a few kilobytes from the page cache, and most new files are this small.
 */
const TINY = 64 * 1024;
/** Read size for larger files. */
const CHUNK = 256 * 1024;

function hashesOf(content: Buffer, headBytes: number): FileHashes {
  return {
    // One read, three digests (crypto.hash: one call each, no Hash object for a buffer already in memory).
    sha256: hash('sha256', content, 'hex'), sha1: hash('sha1', content, 'hex'), md5: hash('md5', content, 'hex'),
    size: content.length, head: content.subarray(0, headBytes), content: headBytes > 0 ? content : undefined,
  };
}

/**
 * The hashes of a small regular file (1 byte to 64 KB by `info`, the stat or lstat the caller just took), read
 * and hashed synchronously: open, one read, close. Undefined when the file is not that small (empty, larger,
 * or not a regular file): hashFile reads those. Throws when the file cannot be read.
 */
export function hashSmallFileSync(path: string, info: Stats, headBytes = 4096): FileHashes | undefined {
  if (!info.isFile() || info.size <= 0 || info.size > TINY) return undefined;
  const fd = openSync(path, 'r');
  let content: Buffer;
  try {
    // Room for one byte more than the stat said: the size read is the end of the file (no fstat, no read
    // that returns nothing), and a full buffer means it grew meanwhile (the rest is read, as readFileSync would).
    const buffer = Buffer.allocUnsafe(info.size + 1);
    let n = 0;
    for (;;) {
      const got = readSync(fd, buffer, n, buffer.length - n, null);
      n += got;
      if (got === 0 || n >= info.size) break;
    }
    content = n < buffer.length ? buffer.subarray(0, n) : Buffer.concat([buffer, readFileSync(fd)]);
  } finally {
    closeSync(fd);
  }
  return content.length <= SMALL ? hashesOf(content, headBytes) : undefined;
}

/**
 * SHA-256, SHA-1 and MD5 in one read of the file. Files larger than maxBytes are not hashed (undefined).
 * `known`: the file's stat (or lstat of a regular file) just taken by the caller, so it is not taken twice.
 */
export async function hashFile(path: string, maxBytes = 512 * 1024 * 1024, headBytes = 4096, known?: Stats): Promise<FileHashes | undefined> {
  const info: Stats = known?.isFile() ? known : statSync(path);
  if (!info.isFile() || info.size > maxBytes) return undefined;
  // A size of 0 may be a pseudo file (procfs, tracefs) whose read can block: that one goes to the thread pool.
  if (info.size > 0 && info.size <= TINY) {
    const small = hashSmallFileSync(path, info, headBytes);
    if (small && small.size <= maxBytes) return small;
  } else if (info.size <= SMALL) {
    const content = await readFile(path);
    if (content.length <= SMALL) return hashesOf(content, headBytes);
  }
  // Larger files: one buffer, read into again and again. A read stream allocates a new buffer per chunk, and
  // hashing a 100 MB executable that way left some 30 MB of freed buffers in the process's memory for good.
  const sha256 = createHash('sha256');
  const sha1 = createHash('sha1');
  const md5 = createHash('md5');
  const chunk = Buffer.allocUnsafeSlow(CHUNK);
  let head = Buffer.alloc(0);
  let size = 0;
  const fd = await open(path, 'r');
  try {
    for (;;) {
      const bytesRead = await read(fd, chunk, 0, CHUNK, null);
      if (!bytesRead) break;
      const b = bytesRead === CHUNK ? chunk : chunk.subarray(0, bytesRead);
      sha256.update(b);
      sha1.update(b);
      md5.update(b);
      if (head.length < headBytes) head = Buffer.concat([head, b.subarray(0, headBytes - head.length)]); // a copy: chunk is reused
      size += bytesRead;
    }
  } finally {
    await close(fd);
  }
  return { sha256: sha256.digest('hex'), sha1: sha1.digest('hex'), md5: md5.digest('hex'), size, head };
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
