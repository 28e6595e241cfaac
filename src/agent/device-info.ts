import { arch, hostname, networkInterfaces, release } from 'node:os';
import { osRelease } from './enrollment.js';

/** The agent's version, reported as DeviceInfo.ClientVersion. */
export const AGENT_VERSION = '0.1.0';

const ARCH: Record<string, string> = { x64: '64-bit', arm64: 'ARM64', ia32: '32-bit', arm: 'ARM' };

export function localAddresses(): { name: string; address: string; family: string; mac: string }[] {
  const out = [];
  for (const [name, list] of Object.entries(networkInterfaces())) {
    for (const a of list ?? []) if (!a.internal) out.push({ name, address: a.address, family: a.family, mac: a.mac });
  }
  return out;
}

/** A DeviceInfo row (without Timestamp, DeviceId, ReportId): OS, kernel, host name, addresses, agent and sensor health. */
export function deviceInfoRow(health: Record<string, unknown>, healthy: boolean): Record<string, unknown> {
  const os = osRelease();
  return {
    ClientVersion: AGENT_VERSION,
    OSPlatform: 'Linux',
    OSArchitecture: ARCH[arch()] ?? arch(),
    OSBuild: release(),
    OSVersion: os.VERSION_ID ?? null,
    OSDistribution: os.ID ?? null,
    OSVersionInfo: os.PRETTY_NAME ?? null,
    DeviceCategory: 'Endpoint',
    DeviceType: 'Workstation',
    OnboardingStatus: 'Onboarded',
    SensorHealthState: healthy ? 'Active' : 'Impaired communications',
    AdditionalFields: {
      Hostname: hostname(),
      IPAddresses: localAddresses().map((a) => ({ Name: a.name, IPAddress: a.address, Family: a.family, MacAddress: a.mac })),
      Health: health,
    },
  };
}
