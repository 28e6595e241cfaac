// True file types by magic bytes (never the name), one level of ZIP, Office macro detection and EICAR.
import { createHash } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';

export type FileKind =
  | 'pe' | 'elf' | 'macho' | 'script' | 'zip' | 'docx' | 'xlsx' | 'pptx' | 'ooxml' | 'ole' | 'pdf' | 'gzip' | 'rar' | '7z'
  | 'png' | 'jpeg' | 'gif' | 'text' | 'unknown';

/** Kinds that run on their own: an attachment of one of these is malware by Vigil's own rule. */
export const EXECUTABLE_KINDS: ReadonlySet<FileKind> = new Set(['pe', 'elf', 'macho', 'script']);

/** Names that Windows runs as scripts or programs even when the content looks like text. */
const RUNNABLE_EXTENSIONS = /\.(exe|scr|com|pif|bat|cmd|vbs|vbe|js|jse|wsf|wsh|hta|ps1|psm1|msi|jar|lnk|cpl|reg)$/i;

export const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';
const EICAR_BYTES = Buffer.from(EICAR, 'latin1');
const VBA_OLE = Buffer.from('_VBA_PROJECT', 'utf16le');

export interface FileInfo {
  readonly fileName: string;
  readonly size: number;
  readonly sha256: string;
  readonly sha1: string;
  readonly md5: string;
  readonly kind: FileKind;
  /** True when the name's extension hides what the content is (e.g. a PE named invoice.pdf). */
  readonly renamed: boolean;
  readonly runnableName: boolean;
  readonly hasMacros: boolean;
  readonly eicar: boolean;
  /** Files inside, when this is a ZIP (one level, never recursed). */
  readonly members: readonly FileInfo[];
}

export interface ZipEntry { readonly name: string; readonly data: Buffer | undefined }

const MAX_MEMBER = 32 * 1024 * 1024;

/** Reads a ZIP's central directory; stored and deflated members are extracted (up to 32 MiB each), others left undefined. */
export function readZip(buf: Buffer, maxEntries = 1000): ZipEntry[] | undefined {
  const min = Math.max(0, buf.length - 65_557);
  let eocd = -1;
  for (let i = buf.length - 22; i >= min; i--) if (buf.readUInt32LE(i) === 0x06054b50) { eocd = i; break; }
  if (eocd < 0) return undefined;
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const out: ZipEntry[] = [];
  for (let n = 0; n < count && n < maxEntries; n++) {
    if (p + 46 > buf.length || buf.readUInt32LE(p) !== 0x02014b50) break;
    const flags = buf.readUInt16LE(p + 8);
    const method = buf.readUInt16LE(p + 10);
    const csize = buf.readUInt32LE(p + 20);
    const usize = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.subarray(p + 46, p + 46 + nameLen).toString('utf8');
    p += 46 + nameLen + extraLen + commentLen;
    let data: Buffer | undefined;
    if ((flags & 1) === 0 && local + 30 <= buf.length && buf.readUInt32LE(local) === 0x04034b50 && usize <= MAX_MEMBER) {
      const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
      const raw = buf.subarray(start, Math.min(buf.length, start + csize));
      try {
        if (method === 0) data = raw;
        else if (method === 8) data = inflateRawSync(raw, { maxOutputLength: MAX_MEMBER });
      } catch { data = undefined; }
    }
    out.push({ name, data });
  }
  return out;
}

function sniff(buf: Buffer, zip: ZipEntry[] | undefined): FileKind {
  if (buf.length >= 2 && buf[0] === 0x4d && buf[1] === 0x5a) return 'pe';
  if (buf.length >= 4 && buf.readUInt32BE(0) === 0x7f454c46) return 'elf';
  if (buf.length >= 4 && [0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe, 0xcafebabe].includes(buf.readUInt32BE(0))) return 'macho';
  if (buf.length >= 2 && buf[0] === 0x23 && buf[1] === 0x21) return 'script';
  if (buf.length >= 8 && buf.readUInt32BE(0) === 0xd0cf11e0 && buf.readUInt32BE(4) === 0xa1b11ae1) return 'ole';
  if (buf.length >= 4 && buf.readUInt32LE(0) === 0x04034b50) {
    const names = new Set((zip ?? []).map((e) => e.name));
    if (names.has('[Content_Types].xml')) {
      const all = [...names];
      if (all.some((n) => n.startsWith('word/'))) return 'docx';
      if (all.some((n) => n.startsWith('xl/'))) return 'xlsx';
      if (all.some((n) => n.startsWith('ppt/'))) return 'pptx';
      return 'ooxml';
    }
    return 'zip';
  }
  if (buf.subarray(0, 5).toString('latin1') === '%PDF-') return 'pdf';
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) return 'gzip';
  if (buf.subarray(0, 4).toString('latin1') === 'Rar!') return 'rar';
  if (buf.length >= 6 && buf.subarray(0, 6).equals(Buffer.from([0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c]))) return '7z';
  if (buf.length >= 8 && buf.readUInt32BE(0) === 0x89504e47) return 'png';
  if (buf.length >= 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff) return 'jpeg';
  if (buf.subarray(0, 4).toString('latin1') === 'GIF8') return 'gif';
  return looksLikeText(buf.subarray(0, 512)) ? 'text' : 'unknown';
}

/**
 * Text: no NUL and hardly any other control byte (tab, line breaks, form feed and escape are text) in the first
 * 512 bytes. "No NUL" alone called one random binary file in eight text (and read it for URLs).
 */
function looksLikeText(head: Buffer): boolean {
  if (head.length === 0 || head.includes(0)) return false;
  let control = 0;
  for (const b of head) if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0c && b !== 0x0d && b !== 0x1b) control++;
  return control * 100 <= head.length;
}

/** What a name's extension claims, for the "renamed" flag. */
const EXPECTED: Record<string, readonly FileKind[]> = {
  pdf: ['pdf'], doc: ['ole'], xls: ['ole'], ppt: ['ole'], docx: ['docx', 'ooxml'], docm: ['docx', 'ooxml'], xlsx: ['xlsx', 'ooxml'],
  xlsm: ['xlsx', 'ooxml'], pptx: ['pptx', 'ooxml'], zip: ['zip', 'docx', 'xlsx', 'pptx', 'ooxml'], png: ['png'], jpg: ['jpeg'],
  jpeg: ['jpeg'], gif: ['gif'], txt: ['text'], csv: ['text'], gz: ['gzip'],
};

function hasEicar(buf: Buffer): boolean {
  // The EICAR file is 68 bytes, optionally followed by white space, at most 128 bytes in all.
  return buf.length <= 128 && buf.length >= EICAR_BYTES.length && buf.subarray(0, EICAR_BYTES.length).equals(EICAR_BYTES);
}

/** Hashes, true type, macros and EICAR for one attachment; a ZIP's members are examined one level down. */
export function inspectFile(fileName: string, buf: Buffer, depth = 0, knownMd5?: string): FileInfo {
  const zip = buf.length >= 4 && buf.readUInt32LE(0) === 0x04034b50 ? readZip(buf) : undefined;
  const kind = sniff(buf, zip);
  const ext = /\.([a-z0-9]+)$/i.exec(fileName)?.[1]?.toLowerCase();
  const expected = ext ? EXPECTED[ext] : undefined;
  const renamed = expected !== undefined && !expected.includes(kind) && kind !== 'unknown' && kind !== 'text';
  let hasMacros = false;
  if (kind === 'ole') hasMacros = buf.includes(VBA_OLE);
  else if (zip && kind !== 'zip') hasMacros = zip.some((e) => /(^|\/)vbaProject\.bin$/i.test(e.name));
  const members = kind === 'zip' && zip && depth === 0
    ? zip.filter((e) => e.data !== undefined && !e.name.endsWith('/')).map((e) => inspectFile(e.name, e.data!, depth + 1))
    : [];
  return {
    fileName, size: buf.length,
    sha256: createHash('sha256').update(buf).digest('hex'),
    sha1: createHash('sha1').update(buf).digest('hex'),
    md5: knownMd5 ?? createHash('md5').update(buf).digest('hex'),
    kind, renamed, runnableName: RUNNABLE_EXTENSIONS.test(fileName), hasMacros, eicar: hasEicar(buf), members,
  };
}
