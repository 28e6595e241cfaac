// The scanning thread: parses and inspects messages for the gateway (scan-pool.ts) so that scanning runs
// beside the SMTP, spool and relay work of the main thread.
import { parentPort } from 'node:worker_threads';
import { scanMessage } from './scanner.js';

if (!parentPort) throw new Error('scan-worker runs as a worker thread');
const port = parentPort;
port.on('message', (m: { id: number; raw: Uint8Array }) => {
  const raw = Buffer.from(m.raw.buffer, m.raw.byteOffset, m.raw.byteLength);
  // scanMessage never throws; anything else (a bug) is reported so that the gateway scans inline instead.
  scanMessage(raw).then((scan) => port.postMessage({ id: m.id, scan }), (error: Error) => port.postMessage({ id: m.id, error: error.message }));
});
