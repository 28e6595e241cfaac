// A fixed-size bit filter in front of the index's hash maps. With a million indicators the maps are far
// larger than the CPU caches, and a miss (the usual case: most rows match nothing) costs several memory
// reads; one bit in a 4 MiB table answers "certainly not here" for almost all of them. Hashes are computed
// over the characters in place, so walking a host's labels or a URL's path allocates no strings until a bit says "maybe".

const LOG2_BITS = 25; // 32 Mi bits = 4 MiB: about 3 % false positives with a million keys

export class BitFilter {
  private readonly words = new Uint32Array(1 << (LOG2_BITS - 5));

  set(hash: number): void {
    const bit = hash >>> (32 - LOG2_BITS);
    this.words[bit >>> 5] |= 1 << (bit & 31);
  }

  has(hash: number): boolean {
    const bit = hash >>> (32 - LOG2_BITS);
    return (this.words[bit >>> 5] & (1 << (bit & 31))) !== 0;
  }

  clear(): void {
    this.words.fill(0);
  }
}

/** Seeds keep the key spaces of the different maps apart. */
export const SEED = { sha256: 1, sha1: 2, md5: 3, cert: 4, domain: 5, url: 6, ipv4: 7, cidr4: 100 } as const;

/** FNV-1a start state for a seed. */
export const start = (seed: number): number => (0x811c9dc5 ^ Math.imul(seed, 0x9e3779b9)) >>> 0;

/** One FNV-1a step. */
export const step = (h: number, c: number): number => Math.imul(h ^ c, 0x01000193);

/** Final avalanche (murmur3 fmix32) so the filter can use the top bits. */
export function finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hash of s[from, to), ASCII letters lower-cased when `lower`. */
export function hashText(seed: number, s: string, lower: boolean, from = 0, to = s.length): number {
  let h = start(seed);
  for (let i = from; i < to; i++) {
    let c = s.charCodeAt(i);
    if (lower && c >= 65 && c <= 90) c += 32;
    h = step(h, c);
  }
  return finish(h);
}

/** Hash of a domain read from its end, so every parent domain's hash falls out of one pass (see the index's walk). */
export function hashReversed(seed: number, s: string): number {
  let h = start(seed);
  for (let i = s.length - 1; i >= 0; i--) {
    let c = s.charCodeAt(i);
    if (c >= 65 && c <= 90) c += 32;
    h = step(h, c);
  }
  return finish(h);
}

export function hashNumber(seed: number, n: number): number {
  return finish(step(step(start(seed), n & 0xffff), n >>> 16));
}

/** File hashes are uniformly random already: their first 12 hex digits (48 bits) are enough for the filter. */
export function hashHex(seed: number, s: string): number {
  return hashText(seed, s, true, 0, Math.min(12, s.length));
}
