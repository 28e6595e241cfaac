import { TABLE_COLUMNS } from './table-columns.js';

/** KQL scalar types a column can have (https://learn.microsoft.com/kusto/query/scalar-data-types). */
export type ColumnType = 'string' | 'int' | 'long' | 'real' | 'bool' | 'datetime' | 'dynamic';

export type TableName = keyof typeof TABLE_COLUMNS;

export interface ColumnDef {
  readonly name: string;
  readonly type: ColumnType;
}

export interface TableDef {
  readonly name: TableName;
  readonly columns: readonly ColumnDef[];
  /** Column name → definition, for O(1) validation. */
  readonly byName: ReadonlyMap<string, ColumnDef>;
}

// Types by column name, as data. Anything not listed is a string (kql-usage.md §12).
const DATETIME = [
  'Timestamp', 'ProcessCreationTime', 'InitiatingProcessCreationTime', 'InitiatingProcessParentCreationTime',
  'CreatedDateTime', 'DeletedDateTime', 'LastPasswordChangeTimestamp', 'StartTime', 'EndTime',
];
const LONG = [
  'ProcessId', 'InitiatingProcessId', 'InitiatingProcessParentId', 'FileSize', 'InitiatingProcessFileSize',
  'LogonId', 'InitiatingProcessLogonId', 'CreatedProcessSessionId', 'InitiatingProcessSessionId',
];
const INT = [
  'LocalPort', 'RemotePort', 'Port', 'DestinationPort', 'RequestSourcePort', 'AttachmentCount', 'UrlCount',
  'BulkComplaintLevel', 'ErrorCode', 'RiskLevelAggregated', 'RiskState', 'ConditionalAccessStatus',
  'IsManaged', 'IsCompliant', 'CriticalityLevel', 'UrlLocation', 'RiskLevel',
];
const BOOL = [
  'IsAdminOperation', 'IsAnonymousProxy', 'IsAzureADJoined', 'IsAzureInfoProtectionApplied', 'IsClickedThrough',
  'IsExternalUser', 'IsImpersonated', 'IsInitiatingProcessRemoteSession', 'IsInternetFacing', 'IsLocalAdmin',
  'IsProcessRemoteSession', 'IsAccountEnabled', 'IsExcluded', 'IsGuestUser', 'IsThroughGlobalSecureAccess',
];
const DYNAMIC = [
  'AdditionalFields', 'RawEventData', 'IPAddresses', 'ConnectedNetworks', 'DnsAddresses', 'DefaultGateways',
  'LoggedOnUsers', 'MergedDeviceIds', 'DeviceDynamicTags', 'DeviceManualTags', 'AssignedRoles', 'GroupMembership',
  'OtherMailAddresses', 'ActivityObjects', 'AuthenticationProcessingDetails', 'LastSeenForUser', 'UncommonForUser',
  'SourceProviders', 'Tags', 'ConfidenceLevel', 'SessionData', 'UserAgentTags', 'PrivilegedEntraPimRoles',
  'IPTags', 'UrlChain', 'DataSources', 'AttackTechniques',
];
const BY_NAME: ReadonlyMap<string, ColumnType> = new Map<string, ColumnType>([
  ...DATETIME.map((c) => [c, 'datetime'] as const),
  ...LONG.map((c) => [c, 'long'] as const),
  ...INT.map((c) => [c, 'int'] as const),
  ...BOOL.map((c) => [c, 'bool'] as const),
  ...DYNAMIC.map((c) => [c, 'dynamic'] as const),
]);

/** ReportId is a long on Device* tables and a string elsewhere (kql-usage.md §12). */
function columnType(table: string, column: string): ColumnType {
  if (column === 'ReportId') return table.startsWith('Device') ? 'long' : 'string';
  // The sign-in tables carry IsManaged/IsCompliant as 0/1; elsewhere they are booleans.
  if ((column === 'IsManaged' || column === 'IsCompliant') && !/SignIn/.test(table)) return 'bool';
  return BY_NAME.get(column) ?? 'string';
}

function buildTables(): ReadonlyMap<TableName, TableDef> {
  const tables = new Map<TableName, TableDef>();
  for (const [name, names] of Object.entries(TABLE_COLUMNS) as [TableName, readonly string[]][]) {
    const columns = Object.freeze(names.map((c) => Object.freeze({ name: c, type: columnType(name, c) })));
    tables.set(name, Object.freeze({ name, columns, byName: new Map(columns.map((c) => [c.name, c])) }));
  }
  return tables;
}

/** Every canonical telemetry table, keyed by name. The single source of truth for columns and types. */
export const TABLES: ReadonlyMap<TableName, TableDef> = buildTables();

export function isTableName(name: string): name is TableName {
  return TABLES.has(name as TableName);
}

/** Table lookup that is case-sensitive, as KQL table names are. */
export function tableDef(name: string): TableDef | undefined {
  return TABLES.get(name as TableName);
}
