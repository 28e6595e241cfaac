// Logsource → where the events live, as data (DESIGN.md convention 4, like pySigma's pipelines).
//
// Windows events carry their flattened source in `_Raw` (Channel, EventID, EventData fields), so a
// Windows logsource maps to channel + EventID, as SigmaHQ's own CI mapping does
// (SigmaHQ/sigma tests/thor.yml). Canonical rows without `_Raw` (Vigil's Linux agent) map by table.
import type { TableName } from '../../schema/index.js';

/** One Windows event source a logsource maps to. Channels are compared lower-cased. */
export interface WindowsSource {
  readonly channels: readonly string[];
  /** EventIDs; absent means every event of the channel. */
  readonly eventIds?: readonly number[];
  /** Extra raw-field conditions (any listed value, case-insensitive). */
  readonly where?: Readonly<Record<string, readonly string[]>>;
  /** Sigma field → raw field renames for this source (thor.yml `fieldmappings`). */
  readonly fieldAliases?: Readonly<Record<string, string>>;
}

const SYSMON = 'microsoft-windows-sysmon/operational';
const sysmon = (...eventIds: number[]): WindowsSource => ({ channels: [SYSMON], eventIds });
const PS_OPERATIONAL = ['microsoft-windows-powershell/operational', 'powershellcore/operational'];
const PS_CLASSIC = ['windows powershell'];

/** Windows `category` → sources (thor.yml `logsources` with `conditions`). */
export const WINDOWS_CATEGORY_SOURCES: Readonly<Record<string, readonly WindowsSource[]>> = {
  process_creation: [
    sysmon(1),
    { channels: ['security'], eventIds: [4688], fieldAliases: { Image: 'NewProcessName', ParentImage: 'ParentProcessName' } },
  ],
  file_change: [sysmon(2)],
  network_connection: [sysmon(3)],
  sysmon_status: [sysmon(4, 16)],
  process_termination: [sysmon(5)],
  driver_load: [sysmon(6)],
  image_load: [sysmon(7)],
  create_remote_thread: [sysmon(8)],
  raw_access_thread: [sysmon(9)],
  process_access: [sysmon(10)],
  file_event: [sysmon(11)],
  registry_event: [sysmon(12, 13, 14)],
  registry_add: [{ ...sysmon(12), where: { EventType: ['CreateKey'] } }],
  registry_delete: [{ ...sysmon(12), where: { EventType: ['DeleteKey', 'DeleteValue'] } }],
  registry_set: [sysmon(13)],
  registry_rename: [sysmon(14)],
  create_stream_hash: [sysmon(15)],
  pipe_created: [sysmon(17, 18)],
  wmi_event: [sysmon(19, 20, 21)],
  dns_query: [sysmon(22)],
  file_delete: [sysmon(23)],
  clipboard_change: [sysmon(24)],
  process_tampering: [sysmon(25)],
  file_delete_detected: [sysmon(26)],
  file_block_executable: [sysmon(27)],
  file_block_shredding: [sysmon(28)],
  file_executable_detected: [sysmon(29)],
  sysmon_error: [sysmon(255)],
  ps_module: [{ channels: PS_OPERATIONAL, eventIds: [4103] }],
  ps_script: [{ channels: PS_OPERATIONAL, eventIds: [4104] }],
  ps_classic_start: [{ channels: PS_CLASSIC, eventIds: [400] }],
  ps_classic_provider_start: [{ channels: PS_CLASSIC, eventIds: [600] }],
  ps_classic_script: [{ channels: PS_CLASSIC, eventIds: [800] }],
  antivirus: [{
    channels: ['microsoft-windows-windows defender/operational'],
    eventIds: [1006, 1007, 1008, 1009, 1010, 1011, 1012, 1017, 1018, 1019, 1115, 1116],
    fieldAliases: { Signature: 'ThreatName', Filename: 'Path' },
  }],
};

/** Windows `service` → channels (thor.yml target system configurations, plus a few SigmaHQ uses). */
export const WINDOWS_SERVICE_CHANNELS: Readonly<Record<string, readonly string[]>> = {
  application: ['application'],
  security: ['security'],
  system: ['system'],
  ntlm: ['microsoft-windows-ntlm/operational'],
  sysmon: [SYSMON],
  powershell: PS_OPERATIONAL,
  'powershell-classic': PS_CLASSIC,
  taskscheduler: ['microsoft-windows-taskscheduler/operational'],
  wmi: ['microsoft-windows-wmi-activity/operational'],
  dhcp: ['microsoft-windows-dhcp-server/operational'],
  'printservice-admin': ['microsoft-windows-printservice/admin'],
  'printservice-operational': ['microsoft-windows-printservice/operational'],
  'smbclient-security': ['microsoft-windows-smbclient/security'],
  'smbclient-connectivity': ['microsoft-windows-smbclient/connectivity'],
  'smbserver-connectivity': ['microsoft-windows-smbserver/connectivity'],
  'terminalservices-localsessionmanager': ['microsoft-windows-terminalservices-localsessionmanager/operational'],
  'codeintegrity-operational': ['microsoft-windows-codeintegrity/operational'],
  applocker: [
    'microsoft-windows-applocker/msi and script', 'microsoft-windows-applocker/exe and dll',
    'microsoft-windows-applocker/packaged app-deployment', 'microsoft-windows-applocker/packaged app-execution',
  ],
  'msexchange-management': ['msexchange management'],
  windefend: ['microsoft-windows-windows defender/operational'],
  'firewall-as': ['microsoft-windows-windows firewall with advanced security/firewall'],
  'bits-client': ['microsoft-windows-bits-client/operational'],
  'security-mitigations': ['microsoft-windows-security-mitigations/kernel mode', 'microsoft-windows-security-mitigations/user mode'],
  'diagnosis-scripted': ['microsoft-windows-diagnosis-scripted/operational'],
  'shell-core': ['microsoft-windows-shell-core/operational'],
  openssh: ['openssh/operational'],
  ldap: ['microsoft-windows-ldap-client/debug'],
  bitlocker: ['microsoft-windows-bitlocker/bitlocker management'],
  vhdmp: ['microsoft-windows-vhdmp/operational'],
  'appxdeployment-server': ['microsoft-windows-appxdeploymentserver/operational'],
  'lsa-server': ['microsoft-windows-lsa/operational'],
  'appxpackaging-om': ['microsoft-windows-appxpackaging/operational'],
  'dns-client': ['microsoft-windows-dns client events/operational'],
  'appmodel-runtime': ['microsoft-windows-appmodel-runtime/admin'],
  capi2: ['microsoft-windows-capi2/operational'],
  'certificateservicesclient-lifecycle-system': ['microsoft-windows-certificateservicesclient-lifecycle-system/operational'],
  'kernel-shimengine': ['microsoft-windows-kernel-shimengine/operational', 'microsoft-windows-kernel-shimengine/diagnostic'],
  'application-experience': [
    'microsoft-windows-application-experience/program-telemetry',
    'microsoft-windows-application-experience/program-compatibility-assistant',
  ],
  ntfs: ['microsoft-windows-ntfs/operational'],
  'hyper-v-worker': ['microsoft-windows-hyper-v-worker'],
  'kernel-event-tracing': ['microsoft-windows-kernel-eventtracing'],
  sense: ['microsoft-windows-sense/operational'],
  'servicebus-client': ['microsoft-servicebus-client/admin', 'microsoft-servicebus-client/operational'],
  'microsoft-servicebus-client': ['microsoft-servicebus-client/admin', 'microsoft-servicebus-client/operational'],
  'iis-configuration': ['microsoft-iis-configuration/operational'],
  'dns-server': ['dns server'],
  'dns-server-analytic': ['microsoft-windows-dns-server/analytical'],
  'driver-framework': ['microsoft-windows-driverframeworks-usermode/operational'],
};

/** A canonical table a logsource maps to, optionally narrowed to some ActionTypes. */
export interface CanonicalSource {
  readonly table: TableName;
  readonly actionTypes?: readonly string[];
}

/** Sigma `category` → canonical tables, for rows without `_Raw` (e.g. Vigil's Linux agent). */
export const CANONICAL_CATEGORY_TABLES: Readonly<Record<string, readonly CanonicalSource[]>> = {
  process_creation: [{ table: 'DeviceProcessEvents' }],
  file_event: [{ table: 'DeviceFileEvents', actionTypes: ['FileCreated', 'FileModified', 'FileRenamed'] }],
  file_change: [{ table: 'DeviceFileEvents', actionTypes: ['FileModified'] }],
  file_rename: [{ table: 'DeviceFileEvents', actionTypes: ['FileRenamed'] }],
  file_delete: [{ table: 'DeviceFileEvents', actionTypes: ['FileDeleted'] }],
  file_access: [{ table: 'DeviceFileEvents', actionTypes: ['FileAccessed', 'FileRead', 'FileOpened'] }],
  network_connection: [{ table: 'DeviceNetworkEvents' }],
  image_load: [{ table: 'DeviceImageLoadEvents' }],
  registry_event: [{ table: 'DeviceRegistryEvents' }],
  registry_add: [{ table: 'DeviceRegistryEvents', actionTypes: ['RegistryKeyCreated'] }],
  registry_set: [{ table: 'DeviceRegistryEvents', actionTypes: ['RegistryValueSet'] }],
  registry_delete: [{ table: 'DeviceRegistryEvents', actionTypes: ['RegistryKeyDeleted', 'RegistryValueDeleted'] }],
  dns_query: [{ table: 'DeviceEvents', actionTypes: ['DnsQueryResponse'] }],
  process_access: [{ table: 'DeviceEvents', actionTypes: ['OpenProcessApiCall'] }],
  create_remote_thread: [{ table: 'DeviceEvents', actionTypes: ['CreateRemoteThreadApiCall'] }],
};

/** Products whose rules run on canonical rows without `_Raw` by default (Vigil's agent is Linux). */
export const DEFAULT_CANONICAL_PRODUCTS: readonly string[] = ['linux'];
