// Runs the sample corporate app as its own process (the demo and bench:access use it this way).
// Configuration comes as one JSON line on stdin: {vigilUrl, clientId, clientSecret, resource, delivery?, port?}.
// It prints one JSON line {ready: {url, streamId}} when listening, then {event: {type, device, user, at}} for
// every CAEP event it applied (`at` = performance.timeOrigin + performance.now(), comparable across processes).
import { createInterface } from 'node:readline';
import { startCorporateApp } from './app.js';

const lines = createInterface({ input: process.stdin });
const first = await new Promise<string>((resolve) => lines.once('line', resolve));
const config = JSON.parse(first);
const app = await startCorporateApp({
  ...config,
  onEvent: (e) => {
    const subject = e.subject as Record<string, any>;
    process.stdout.write(`${JSON.stringify({ event: { type: e.type, device: subject.device?.sub ?? null, user: subject.user?.sub ?? null, at: performance.timeOrigin + performance.now() } })}\n`);
  },
});
process.stdout.write(`${JSON.stringify({ ready: { url: app.url, streamId: app.stream.stream_id } })}\n`);
const stop = async () => { await app.close(); process.exit(0); };
lines.on('close', stop);
process.on('SIGTERM', stop);
