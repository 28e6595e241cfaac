// The gateway's native-search DATA reader (src/mail/smtp-data-scan.ts) against smtp-server's own byte loop:
// the same messages, transparency dots and pipelined commands come out, however the input is cut into chunks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SMTPStream } from 'smtp-server/lib/smtp-stream.js';
import { useFastDataScan } from '../src/mail/smtp-data-scan.js';

type Feed = (chunk: Buffer, done: (err?: Error) => void) => void;
const original = (SMTPStream.prototype as unknown as { _feedDataStream: Feed })._feedDataStream;

/** Runs `input` through an SMTPStream in `cuts` pieces; returns the commands and the messages' data in order. */
async function run(feed: Feed, input: Buffer, cuts: number[]): Promise<string[]> {
  const stream = new SMTPStream() as unknown as InstanceType<typeof SMTPStream> & { _feedDataStream: Feed; oncommand: (c: Buffer, cb?: () => void) => void };
  stream._feedDataStream = feed;
  const out: string[] = [];
  stream.oncommand = (command, cb) => {
    const line = command.toString('latin1');
    out.push(`cmd ${line}`);
    if (line === 'DATA') {
      const data = stream.startDataMode();
      const chunks: Buffer[] = [];
      data.on('data', (c: Buffer) => chunks.push(c));
      // As smtp-connection does, after the handler's asynchronous work (continue() must not re-enter).
      data.on('end', () => { out.push(`msg ${Buffer.concat(chunks).toString('latin1')}`); setImmediate(() => stream.continue()); });
    }
    cb?.();
  };
  let from = 0;
  for (const cut of [...cuts, input.length]) {
    const piece = input.subarray(from, cut);
    from = cut;
    if (piece.length) await new Promise<void>((resolve, reject) => stream.write(piece, (e) => (e ? reject(e) : resolve())));
  }
  await new Promise<void>((resolve) => stream.end(resolve));
  return out;
}

test('the native-search DATA reader gives what smtp-server gives, for every way of cutting the input', async () => {
  assert.equal(useFastDataScan(), true);
  const fast = (SMTPStream.prototype as unknown as { _feedDataStream: Feed })._feedDataStream;
  assert.notEqual(fast, original);
  const inputs = [
    'DATA\r\nSubject: a\r\n\r\n..leading dot\r\nx\r\n...two\r\n.\r\nNOOP\r\n',
    'DATA\r\n..\r\n.\r\nQUIT\r\n',
    'DATA\r\nline\r\n.x not an end\r\n\r\n..\r\n.\r\nMAIL FROM:<a@b>\r\n',
    'DATA\r\n.\r\n',
    // A terminator split over pieces, a bare LF before a dot line, and what follows pipelined.
    `DATA\r\n${'abcd\r\n'.repeat(50)}..\r\nbody\n.\r\nnot end\r\n.\r\nNOOP\r\n`,
    `DATA\r\n${'line of text\r\n'.repeat(20)}.dot\r\n${'x'.repeat(70)}\r\n..\r\n.\r\nQUIT\r\n`,
  ].map((s) => Buffer.from(s, 'latin1'));
  for (const input of inputs) {
    // Every single cut, and a few multi-cut patterns.
    const cutSets: number[][] = [[]];
    for (let c = 1; c < input.length; c++) cutSets.push([c]);
    for (const step of [1, 2, 3, 4, 5, 6, 7, 9, 13, 64]) cutSets.push(Array.from({ length: Math.floor((input.length - 1) / step) }, (_, k) => (k + 1) * step));
    for (const cuts of cutSets) {
      const expected = await run(original, input, cuts);
      const got = await run(fast, input, cuts);
      assert.deepEqual(got, expected, `input ${JSON.stringify(input.toString('latin1'))} cut at ${cuts.join(',')}`);
    }
  }
});
