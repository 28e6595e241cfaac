// Runs inside the server-side network namespace of test/agent-isolation.test.ts: a real platform on the
// namespace's veth address, and a "peer" TCP service on a second address. Driven by JSON lines on stdin.
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { startPlatform } from './helpers/platform.js';
import { enrollmentToken, runAction } from './agent-helpers.js';

const [host, peerHost, peerPort] = process.argv.slice(2);
const tp = await startPlatform({ config: { host } });
const peer = createServer((socket) => { socket.on('error', () => {}); socket.end('peer\n'); });
await new Promise<void>((r) => peer.listen(Number(peerPort), peerHost, r));
const say = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
say({ url: tp.url, enrollToken: await enrollmentToken(tp, 'netns-agent') });

for await (const line of createInterface({ input: process.stdin })) {
  const msg = JSON.parse(line) as { cmd: string; deviceId?: string; kind?: string; params?: Record<string, unknown> };
  if (msg.cmd === 'action') {
    try {
      const done = await runAction(tp, msg.deviceId!, msg.kind!, msg.params ?? {});
      say({ action: msg.kind, state: done.state, result: done.result ?? done.message ?? null, full: done });
    } catch (error) {
      say({ action: msg.kind, state: 'error', result: (error as Error).message });
    }
  } else if (msg.cmd === 'stop') {
    break;
  }
}
peer.close();
await tp.stop();
process.exit(0);
