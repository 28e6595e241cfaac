// The Linux endpoint agent. It speaks to the platform only over its public HTTP protocol (ingest,
// enrollment, command channel, indicator feed), so it runs on other machines; it imports only schema.
export { createAgent } from './agent.js';
export type { Agent, AgentOptions, AgentStats } from './agent.js';
export { AGENT_VERSION } from './device-info.js';
export { isolationRuleset, ISOLATION_TABLE } from './isolation.js';
export { parseAuthMessage, parseSyslogLine } from './logon-monitor.js';
export { decodeAddress, parseProcNet } from './network-monitor.js';
export { EICAR, isEicar } from './scanner.js';
export type { Indicator } from './scanner.js';
export type { DeviceIdentity } from './enrollment.js';
