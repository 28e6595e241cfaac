// Sigma taxonomy field → canonical column, per canonical table, as data
// (Sigma taxonomy appendix v2.1 field names → Defender advanced-hunting columns).
// Used for rows without `_Raw`, and as the fallback when a raw Windows event lacks a field.
import type { TableName } from '../../schema/index.js';

type FieldMap = Readonly<Record<string, string>>;

const initiating: FieldMap = {
  Image: 'InitiatingProcessFolderPath',
  CommandLine: 'InitiatingProcessCommandLine',
  ProcessId: 'InitiatingProcessId',
  ParentProcessId: 'InitiatingProcessParentId',
  ParentImage: 'InitiatingProcessParentFileName',
  User: 'InitiatingProcessAccountName',
  IntegrityLevel: 'InitiatingProcessIntegrityLevel',
  Computer: 'DeviceName',
};

export const FIELD_MAPPINGS: Readonly<Partial<Record<TableName, FieldMap>>> = {
  DeviceProcessEvents: {
    Image: 'FolderPath',
    CommandLine: 'ProcessCommandLine',
    ProcessId: 'ProcessId',
    OriginalFileName: 'ProcessVersionInfoOriginalFileName',
    Description: 'ProcessVersionInfoFileDescription',
    Product: 'ProcessVersionInfoProductName',
    Company: 'ProcessVersionInfoCompanyName',
    FileVersion: 'ProcessVersionInfoProductVersion',
    IntegrityLevel: 'ProcessIntegrityLevel',
    User: 'AccountName',
    LogonId: 'LogonId',
    ParentImage: 'InitiatingProcessFolderPath',
    ParentCommandLine: 'InitiatingProcessCommandLine',
    ParentProcessId: 'InitiatingProcessId',
    ParentUser: 'InitiatingProcessAccountName',
    sha1: 'SHA1', sha256: 'SHA256', md5: 'MD5',
    Computer: 'DeviceName',
  },
  DeviceFileEvents: {
    ...initiating,
    TargetFilename: 'FolderPath',
    SourceFilename: 'PreviousFolderPath',
    sha1: 'SHA1', sha256: 'SHA256', md5: 'MD5',
  },
  DeviceNetworkEvents: {
    ...initiating,
    DestinationIp: 'RemoteIP',
    DestinationPort: 'RemotePort',
    DestinationHostname: 'RemoteUrl',
    SourceIp: 'LocalIP',
    SourcePort: 'LocalPort',
    Protocol: 'Protocol',
  },
  DeviceImageLoadEvents: {
    ...initiating,
    ImageLoaded: 'FolderPath',
    OriginalFileName: 'FileName',
    sha1: 'SHA1', sha256: 'SHA256', md5: 'MD5',
  },
  DeviceRegistryEvents: {
    ...initiating,
    TargetObject: 'RegistryKey',
    Details: 'RegistryValueData',
    EventType: 'ActionType',
  },
  DeviceEvents: {
    ...initiating,
    QueryName: 'RemoteUrl',
    TargetImage: 'FolderPath',
    SourceImage: 'InitiatingProcessFolderPath',
  },
  DeviceLogonEvents: {
    TargetUserName: 'AccountName',
    TargetDomainName: 'AccountDomain',
    LogonType: 'LogonType',
    IpAddress: 'RemoteIP',
    IpPort: 'RemotePort',
    WorkstationName: 'RemoteDeviceName',
    Computer: 'DeviceName',
  },
};
