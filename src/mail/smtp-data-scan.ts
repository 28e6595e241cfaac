// smtp-server reads a message's DATA by looking at every byte in JavaScript for a line that starts with a dot
// (the end of data, or a transparency dot to remove, RFC 5321 §4.5.2): at tens of MB/s this was the gateway's
// largest cost after scanning. This replaces that one method with the same logic, where the candidates
// (LF followed by a dot) are found with Buffer.indexOf (native memchr) instead, and a chunk is not copied to join
// it to the 4 bytes held back from the one before when nothing can match across that seam. Everything else is
// smtp-server's.
//
// Only the exact method this was written against is replaced (its source is compared): another smtp-server
// version keeps its own.
import { createHash } from 'node:crypto';
import { SMTPStream } from 'smtp-server/lib/smtp-stream.js';

/** SHA-256 of smtp-server 3.21.6's SMTPStream.prototype._feedDataStream source (dist/esm/smtp-stream.js). */
const KNOWN_SOURCE = '9d8b903f9a3a63542d72e19a9e2f67009a3b1107a28d57e8e7369355454ff230';
const PATCHED = Symbol.for('vigil.mail.fastDataScan');
const END_SEQUENCE = Buffer.from('\r\n.\r\n');
const DOT_START = Buffer.from('.\r\n');
const LF_DOT = Buffer.from('\n.');

interface StreamState {
  _dataStream: NodeJS.WritableStream & { writable: boolean; destroyed: boolean; write(b: Buffer): boolean };
  _lastBytes: Buffer | false;
  _atDataStart: boolean;
  _countDataBytes(len: number): void;
  _endDataMode(chunk: Buffer | false, remainder: Buffer, done: (err?: Error) => void): void;
  _feedDataStream(chunk: Buffer, done: (err?: Error) => void): void;
}

function feedDataStream(this: StreamState, chunk: Buffer, done: (err?: Error) => void): void {
  const dataStream = this._dataStream;
  if (this._lastBytes && this._lastBytes.length) {
    const last = this._lastBytes;
    if (!this._atDataStart && chunk.length >= 4 && Buffer.concat([last, chunk.subarray(0, 4)]).indexOf(LF_DOT) < 0) {
      // Nothing can match across the seam (no LF-dot within the held bytes and the chunk's first four): the held
      // bytes go out first and the chunk is read on its own, instead of copying it to join them (as smtp-server does).
      this._lastBytes = false;
      this._countDataBytes(last.length);
      if (dataStream.writable) dataStream.write(last);
    } else {
      chunk = Buffer.concat([last, chunk], last.length + chunk.length);
      this._lastBytes = false;
    }
  }
  let len = chunk.length;
  // Data that starts with the terminator (checked on _atDataStart, see smtp-server: no smuggling by segmentation).
  if (this._atDataStart && len >= 3 && Buffer.compare(chunk.subarray(0, 3), DOT_START) === 0) {
    this._endDataMode(false, chunk.subarray(3), done);
    return;
  }
  if (this._atDataStart && len >= 2 && chunk[0] === 0x2e && chunk[1] === 0x2e) {
    chunk = chunk.subarray(1);
    len--;
    this._atDataStart = false;
  }
  // Every i with chunk[i] === '.' and chunk[i - 1] === LF, 2 <= i < len - 2, in order: as smtp-server's byte loop.
  for (let i = chunk.indexOf(LF_DOT, 1) + 1; i > 0 && i < len - 2; i = chunk.indexOf(LF_DOT, i) + 1) {
    if (Buffer.compare(chunk.subarray(i - 2, i + 3), END_SEQUENCE) === 0) {
      const buf = chunk.subarray(0, i);
      this._countDataBytes(buf.length);
      this._endDataMode(buf, chunk.subarray(i + 3), done);
      return;
    }
    if (chunk[i + 1] === 0x2e) {
      const buf = chunk.subarray(0, i);
      this._lastBytes = false;
      this._countDataBytes(buf.length);
      if (dataStream.writable) dataStream.write(buf);
      const rest = chunk.subarray(i + 1);
      setImmediate(() => this._feedDataStream(rest, done));
      return;
    }
  }
  this._lastBytes = chunk.length < 4 ? chunk : chunk.subarray(chunk.length - 4);
  if (this._lastBytes.length < chunk.length) {
    const buf = chunk.subarray(0, chunk.length - this._lastBytes.length);
    this._countDataBytes(buf.length);
    if (dataStream.writable) {
      const handled = dataStream.write(buf);
      if (!handled && !dataStream.destroyed) {
        const onDrain = () => {
          dataStream.removeListener('drain', onDrain);
          dataStream.removeListener('close', onDrain);
          done();
        };
        dataStream.once('drain', onDrain);
        dataStream.once('close', onDrain);
      } else done();
    } else done();
  } else done();
}

/** Installs the native-search DATA reader into smtp-server (once per process); false when its version differs. */
export function useFastDataScan(): boolean {
  const proto = SMTPStream.prototype as unknown as StreamState & { [PATCHED]?: boolean };
  if (proto[PATCHED]) return true;
  const source = createHash('sha256').update(String(proto._feedDataStream)).digest('hex');
  if (source !== KNOWN_SOURCE) return false;
  proto._feedDataStream = feedDataStream;
  proto[PATCHED] = true;
  return true;
}
