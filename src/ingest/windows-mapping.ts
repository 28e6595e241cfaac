import type { TableName } from '../schema/index.js';

/**
 * How a Windows event (evtx_dump JSON) becomes a canonical row, as data.
 * `fields`: source field (EventData name) → canonical column. A `path` target also fills the matching
 * FileName column with the base name. Unlisted source fields go to AdditionalFields.
 */
export interface WindowsEventMapping {
  readonly table: TableName;
  readonly actionType: string | { readonly field: string; readonly values: Readonly<Record<string, string>> };
  readonly fields: Readonly<Record<string, string | { readonly path: string; readonly fileName: string }>>;
}

const SYSMON = 'Microsoft-Windows-Sysmon';
const SECURITY = 'Microsoft-Windows-Security-Auditing';

const initiating = {
  Image: { path: 'InitiatingProcessFolderPath', fileName: 'InitiatingProcessFileName' },
  ProcessId: 'InitiatingProcessId',
  User: 'InitiatingProcessAccountName',
} as const;

const processCreate: WindowsEventMapping = {
  table: 'DeviceProcessEvents',
  actionType: 'ProcessCreated',
  fields: {
    Image: { path: 'FolderPath', fileName: 'FileName' },
    CommandLine: 'ProcessCommandLine',
    ProcessId: 'ProcessId',
    User: 'AccountName',
    IntegrityLevel: 'ProcessIntegrityLevel',
    LogonId: 'LogonId',
    Company: 'ProcessVersionInfoCompanyName',
    Product: 'ProcessVersionInfoProductName',
    FileVersion: 'ProcessVersionInfoProductVersion',
    Description: 'ProcessVersionInfoFileDescription',
    OriginalFileName: 'ProcessVersionInfoOriginalFileName',
    ParentImage: { path: 'InitiatingProcessFolderPath', fileName: 'InitiatingProcessFileName' },
    ParentCommandLine: 'InitiatingProcessCommandLine',
    ParentProcessId: 'InitiatingProcessId',
    ParentUser: 'InitiatingProcessAccountName',
  },
};

const fileEvent = (actionType: string): WindowsEventMapping => ({
  table: 'DeviceFileEvents',
  actionType,
  fields: { ...initiating, TargetFilename: { path: 'FolderPath', fileName: 'FileName' } },
});

const registryEvent: WindowsEventMapping = {
  table: 'DeviceRegistryEvents',
  actionType: {
    field: 'EventType',
    values: {
      CreateKey: 'RegistryKeyCreated', DeleteKey: 'RegistryKeyDeleted', SetValue: 'RegistryValueSet',
      DeleteValue: 'RegistryValueDeleted', RenameKey: 'RegistryKeyRenamed',
    },
  },
  fields: { ...initiating, TargetObject: 'RegistryKey', Details: 'RegistryValueData', NewName: 'PreviousRegistryKey' },
};

const logon = (actionType: string): WindowsEventMapping => ({
  table: 'DeviceLogonEvents',
  actionType,
  fields: {
    TargetUserName: 'AccountName', TargetDomainName: 'AccountDomain', TargetUserSid: 'AccountSid',
    TargetLogonId: 'LogonId', LogonType: 'LogonType', IpAddress: 'RemoteIP', IpPort: 'RemotePort',
    ProcessName: { path: 'InitiatingProcessFolderPath', fileName: 'InitiatingProcessFileName' },
    ProcessId: 'InitiatingProcessId', FailureReason: 'FailureReason', WorkstationName: 'RemoteDeviceName',
  },
});

/** Provider + EventID → mapping (Sysmon: https://learn.microsoft.com/sysinternals/downloads/sysmon#events). */
export const WINDOWS_EVENT_MAPPINGS: ReadonlyMap<string, WindowsEventMapping> = new Map([
  [`${SYSMON}/1`, processCreate],
  [`${SYSMON}/3`, {
    table: 'DeviceNetworkEvents',
    actionType: 'ConnectionSuccess',
    fields: {
      ...initiating, Protocol: 'Protocol', SourceIp: 'LocalIP', SourcePort: 'LocalPort',
      DestinationIp: 'RemoteIP', DestinationPort: 'RemotePort', DestinationHostname: 'RemoteUrl',
    },
  }],
  [`${SYSMON}/7`, {
    table: 'DeviceImageLoadEvents',
    actionType: 'ImageLoaded',
    fields: { ...initiating, ImageLoaded: { path: 'FolderPath', fileName: 'FileName' } },
  }],
  [`${SYSMON}/11`, fileEvent('FileCreated')],
  [`${SYSMON}/23`, fileEvent('FileDeleted')],
  [`${SYSMON}/26`, fileEvent('FileDeleted')],
  [`${SYSMON}/12`, registryEvent],
  [`${SYSMON}/13`, registryEvent],
  [`${SYSMON}/14`, registryEvent],
  [`${SECURITY}/4624`, logon('LogonSuccess')],
  [`${SECURITY}/4625`, logon('LogonFailed')],
]);

/** Windows logon type numbers → Defender's LogonType names. */
export const LOGON_TYPES: Readonly<Record<string, string>> = {
  2: 'Interactive', 3: 'Network', 4: 'Batch', 5: 'Service', 7: 'Unlock', 8: 'NetworkCleartext',
  9: 'NewCredentials', 10: 'RemoteInteractive', 11: 'CachedInteractive',
};

/** Everything else lands in DeviceEvents with these columns filled where the source has them. */
export const DEVICE_EVENTS_FIELDS: WindowsEventMapping['fields'] = {
  ...initiating,
  CommandLine: 'ProcessCommandLine',
  TargetFilename: { path: 'FolderPath', fileName: 'FileName' },
  TargetObject: 'RegistryKey',
  DestinationIp: 'RemoteIP',
  DestinationPort: 'RemotePort',
  SourceIp: 'LocalIP',
};
