// Deterministic synthetic benign Windows events (Sysmon 1/3/5/7/10/11/12/13/22, Security 4624/4625/
// 4634/4672/4688) in evtx_dump JSON shape, for the detection benchmark. Seeded PRNG: same stream every run.

// --- deterministic PRNG (mulberry32) ---
let seed = 0x5eed1234;
function rand(): number {
  seed |= 0; seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
export const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
const hex = (n: number) => Array.from({ length: n }, () => '0123456789ABCDEF'[int(0, 15)]).join('');
const guid = () => `${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}`;

const HOSTS = ['WKS-0142.corp.example', 'WKS-0877.corp.example', 'SRV-FILE01.corp.example', 'LAPTOP-7QX2.corp.example', 'DC01.corp.example'];
const USERS = ['CORP\\alice', 'CORP\\bob', 'CORP\\carol', 'NT AUTHORITY\\SYSTEM', 'NT AUTHORITY\\NETWORK SERVICE', 'CORP\\svc_backup'];
const PROCS: readonly { image: string; cmd: (img: string) => string; orig: string; desc: string; company: string }[] = [
  { image: 'C:\\Windows\\System32\\svchost.exe', cmd: (i) => `${i} -k netsvcs -p -s ${pick(['Schedule', 'Winmgmt', 'BITS', 'gpsvc', 'wuauserv'])}`, orig: 'svchost.exe', desc: 'Host Process for Windows Services', company: 'Microsoft Corporation' },
  { image: 'C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe', cmd: (i) => `"${i}" --type=renderer --lang=en-US --renderer-client-id=${int(5, 400)} --field-trial-handle=${int(1000, 9999)}`, orig: 'chrome.exe', desc: 'Google Chrome', company: 'Google LLC' },
  { image: 'C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE', cmd: (i) => `"${i}" /recycle`, orig: 'Outlook.exe', desc: 'Microsoft Outlook', company: 'Microsoft Corporation' },
  { image: 'C:\\Windows\\explorer.exe', cmd: (i) => i, orig: 'EXPLORER.EXE', desc: 'Windows Explorer', company: 'Microsoft Corporation' },
  { image: 'C:\\Windows\\System32\\conhost.exe', cmd: (i) => `\\??\\${i} 0xffffffff`, orig: 'CONHOST.EXE', desc: 'Console Window Host', company: 'Microsoft Corporation' },
  { image: 'C:\\Windows\\System32\\RuntimeBroker.exe', cmd: (i) => `${i} -Embedding`, orig: 'RuntimeBroker.exe', desc: 'Runtime Broker', company: 'Microsoft Corporation' },
  { image: 'C:\\Program Files\\Microsoft VS Code\\Code.exe', cmd: (i) => `"${i}" --type=utility --utility-sub-type=node.mojom.NodeService --lang=en-US`, orig: 'electron.exe', desc: 'Visual Studio Code', company: 'Microsoft Corporation' },
  { image: 'C:\\Windows\\System32\\taskhostw.exe', cmd: (i) => `taskhostw.exe ${pick(['Install $(Arg0)', 'SYSTEM', '/RuntimeWide'])}`, orig: 'taskhostw.exe', desc: 'Host Process for Windows Tasks', company: 'Microsoft Corporation' },
  { image: 'C:\\Program Files\\Git\\cmd\\git.exe', cmd: (i) => `"${i}" ${pick(['status', 'fetch origin', 'log --oneline -n 20', 'diff HEAD~1'])}`, orig: 'git.exe', desc: 'Git for Windows', company: 'The Git Development Community' },
  { image: 'C:\\Windows\\System32\\SearchProtocolHost.exe', cmd: (i) => `"${i}" Global\\UsGthrFltPipeMssGthrPipe${int(1, 300)} Global\\UsGthrCtrlFltPipeMssGthrPipe${int(1, 300)} 1 -2147483646 "Software\\Microsoft\\Windows Search"`, orig: 'SearchProtocolHost.exe', desc: 'Microsoft Windows Search Protocol Host', company: 'Microsoft Corporation' },
  { image: 'C:\\Users\\alice\\AppData\\Local\\Microsoft\\Teams\\current\\Teams.exe', cmd: (i) => `"${i}" --type=gpu-process --field-trial-handle=${int(1000, 9999)}`, orig: 'Teams.exe', desc: 'Microsoft Teams', company: 'Microsoft Corporation' },
  { image: 'C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe', cmd: (i) => `"${i}" --type=renderer --instant-process --lang=en-US`, orig: 'msedge.exe', desc: 'Microsoft Edge', company: 'Microsoft Corporation' },
];
const SERVICES = { image: 'C:\\Windows\\System32\\services.exe', cmd: (i: string) => i, orig: 'services.exe', desc: 'Services and Controller app', company: 'Microsoft Corporation' };
const CMD = { image: 'C:\\Windows\\System32\\cmd.exe', cmd: (i: string) => `"${i}" /c git status`, orig: 'Cmd.Exe', desc: 'Windows Command Processor', company: 'Microsoft Corporation' };
const SVCHOST_DCOM = { image: 'C:\\Windows\\System32\\svchost.exe', cmd: (i: string) => `${i} -k DcomLaunch -p`, orig: 'svchost.exe', desc: 'Host Process for Windows Services', company: 'Microsoft Corporation' };
const USERINIT = { image: 'C:\\Windows\\System32\\userinit.exe', cmd: (i: string) => i, orig: 'USERINIT.EXE', desc: 'Userinit Logon Application', company: 'Microsoft Corporation' };
/** A plausible parent for each process, so parent/child rules see normal lineage. */
const PARENTS: Record<string, (typeof PROCS)[number]> = {
  'svchost.exe': SERVICES, 'chrome.exe': PROCS[1]!, 'Outlook.exe': PROCS[3]!, 'EXPLORER.EXE': USERINIT, 'CONHOST.EXE': CMD,
  'RuntimeBroker.exe': SVCHOST_DCOM, 'electron.exe': PROCS[6]!, 'taskhostw.exe': PROCS[0]!, 'git.exe': CMD,
  'SearchProtocolHost.exe': PROCS[0]!, 'Teams.exe': PROCS[3]!, 'msedge.exe': PROCS[11]!,
};
const NET_PROCS = [1, 6, 10, 11].map((i) => PROCS[i]!);
const DLLS = ['C:\\Windows\\System32\\kernel32.dll', 'C:\\Windows\\System32\\ntdll.dll', 'C:\\Windows\\System32\\user32.dll', 'C:\\Windows\\System32\\combase.dll', 'C:\\Windows\\System32\\ws2_32.dll', 'C:\\Windows\\System32\\crypt32.dll', 'C:\\Windows\\System32\\msvcrt.dll', 'C:\\Windows\\System32\\advapi32.dll'];
const FILES = ['C:\\Users\\alice\\Documents\\Q3 report.docx', 'C:\\Users\\bob\\Downloads\\invoice_2026.pdf', 'C:\\Windows\\Temp\\MpCmdRun.log', 'C:\\Users\\carol\\AppData\\Local\\Temp\\chrome_BITS_1234\\data.tmp', 'C:\\ProgramData\\Microsoft\\Windows Defender\\Scans\\History\\Service\\DetectionHistory\\x.bin', 'C:\\Users\\alice\\AppData\\Roaming\\Microsoft\\Windows\\Recent\\notes.lnk'];
const REGKEYS = ['HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\WindowsUpdate\\Auto Update\\LastOnlineScanTimeForAppCategory', 'HKU\\S-1-5-21-1111-2222-3333-1001\\Software\\Microsoft\\Office\\16.0\\Common\\Roaming\\Identities', 'HKLM\\System\\CurrentControlSet\\Services\\bam\\State\\UserSettings\\S-1-5-21-1111-2222-3333-1001\\\\Device\\HarddiskVolume3\\Windows\\System32\\notepad.exe', 'HKLM\\SOFTWARE\\Microsoft\\Windows Defender\\Signature Updates\\SignaturesLastUpdated'];
const DOMAINS = ['www.microsoft.com', 'login.microsoftonline.com', 'update.googleapis.com', 'github.com', 'outlook.office365.com', 'teams.microsoft.com', 'cdn.jsdelivr.net'];

function sysmonEvent(eventId: number, data: Record<string, unknown>, host: string, t: number): unknown {
  return {
    Event: {
      '#attributes': { xmlns: 'http://schemas.microsoft.com/win/2004/08/events/event' },
      System: {
        Provider: { '#attributes': { Name: 'Microsoft-Windows-Sysmon', Guid: '5770385F-C22A-43E0-BF4C-06F5698FFBD9' } },
        EventID: eventId, Version: 5, Level: 4, Task: eventId, Opcode: 0, Keywords: '0x8000000000000000',
        TimeCreated: { '#attributes': { SystemTime: new Date(t).toISOString().replace('Z', '000Z') } },
        EventRecordID: int(1, 9_000_000), Correlation: null,
        Execution: { '#attributes': { ProcessID: int(1000, 9000), ThreadID: int(1000, 9000) } },
        Channel: 'Microsoft-Windows-Sysmon/Operational', Computer: host,
        Security: { '#attributes': { UserID: 'S-1-5-18' } },
      },
      EventData: { RuleName: '-', UtcTime: new Date(t).toISOString().replace('T', ' ').slice(0, 23), ...data },
    },
  };
}

function securityEvent(eventId: number, data: Record<string, unknown>, host: string, t: number): unknown {
  return {
    Event: {
      '#attributes': { xmlns: 'http://schemas.microsoft.com/win/2004/08/events/event' },
      System: {
        Provider: { '#attributes': { Name: 'Microsoft-Windows-Security-Auditing', Guid: '54849625-5478-4994-A5BA-3E3B0328C30D' } },
        EventID: eventId, Version: 2, Level: 0, Task: 12544, Opcode: 0, Keywords: '0x8020000000000000',
        TimeCreated: { '#attributes': { SystemTime: new Date(t).toISOString() } },
        EventRecordID: int(1, 9_000_000), Correlation: { '#attributes': { ActivityID: guid() } },
        Execution: { '#attributes': { ProcessID: 756, ThreadID: int(1000, 9000) } },
        Channel: 'Security', Computer: host, Security: null,
      },
      EventData: data,
    },
  };
}

/** One realistic benign Sysmon or Security event (evtx_dump shape) at time `t`. */
export function benign(t: number): unknown {
  const host = pick(HOSTS);
  const user = pick(USERS);
  const p = pick(PROCS);
  const parent = PARENTS[p.orig] ?? PROCS[3]!;
  const base = { ProcessGuid: guid(), ProcessId: int(100, 20000), Image: p.image, User: user };
  const r = rand();
  if (r < 0.2) {
    return sysmonEvent(1, {
      ...base, FileVersion: '10.0.22621.1', Description: p.desc, Product: 'Microsoft® Windows® Operating System', Company: p.company,
      OriginalFileName: p.orig, CommandLine: p.cmd(p.image), CurrentDirectory: 'C:\\Windows\\system32\\', LogonGuid: guid(),
      LogonId: `0x${hex(6).toLowerCase()}`, TerminalSessionId: 1, IntegrityLevel: pick(['Medium', 'High', 'System']),
      Hashes: `SHA1=${hex(40)},MD5=${hex(32)},SHA256=${hex(64)},IMPHASH=${hex(32)}`,
      ParentProcessGuid: guid(), ParentProcessId: int(100, 20000), ParentImage: parent.image, ParentCommandLine: parent.cmd(parent.image), ParentUser: user,
    }, host, t);
  }
  if (r < 0.3) {
    return sysmonEvent(3, {
      ...base, Image: pick(NET_PROCS).image, Protocol: 'tcp', Initiated: 'true', SourceIsIpv6: 'false', SourceIp: `10.1.${int(0, 20)}.${int(2, 250)}`, SourceHostname: host,
      SourcePort: int(49152, 65535), SourcePortName: '-', DestinationIsIpv6: 'false', DestinationIp: `${int(13, 200)}.${int(0, 255)}.${int(0, 255)}.${int(1, 254)}`,
      DestinationHostname: pick(DOMAINS), DestinationPort: pick([443, 443, 443, 80, 80, 8443]), DestinationPortName: pick(['https', 'http', '-']),
    }, host, t);
  }
  if (r < 0.5) {
    return sysmonEvent(7, {
      ...base, ImageLoaded: pick(DLLS), FileVersion: '10.0.22621.2506', Description: 'Windows library', Product: 'Microsoft® Windows® Operating System',
      Company: 'Microsoft Corporation', OriginalFileName: 'lib.dll', Hashes: `SHA1=${hex(40)},MD5=${hex(32)},SHA256=${hex(64)},IMPHASH=${hex(32)}`,
      Signed: 'true', Signature: 'Microsoft Windows', SignatureStatus: 'Valid',
    }, host, t);
  }
  if (r < 0.6) {
    return sysmonEvent(10, {
      SourceProcessGUID: guid(), SourceProcessId: int(100, 20000), SourceThreadId: int(100, 20000), SourceImage: p.image,
      TargetProcessGUID: guid(), TargetProcessId: int(100, 20000), TargetImage: parent.image, GrantedAccess: pick(['0x1000', '0x1400', '0x101541']),
      CallTrace: 'C:\\Windows\\SYSTEM32\\ntdll.dll+9d4c4|C:\\Windows\\System32\\KERNELBASE.dll+2c13e', SourceUser: user, TargetUser: user,
    }, host, t);
  }
  if (r < 0.7) {
    return sysmonEvent(11, { ...base, TargetFilename: pick(FILES), CreationUtcTime: new Date(t).toISOString().replace('T', ' ').slice(0, 23) }, host, t);
  }
  if (r < 0.8) {
    return sysmonEvent(pick([12, 13, 13]), { ...base, EventType: 'SetValue', TargetObject: pick(REGKEYS), Details: pick(['DWORD (0x00000001)', 'Binary Data', `QWORD (0x01da${hex(4)}-0x${hex(8)})`]) }, host, t);
  }
  if (r < 0.85) {
    return sysmonEvent(22, { ...base, QueryName: pick(DOMAINS), QueryStatus: '0', QueryResults: `type:  5 ${pick(DOMAINS)};::ffff:${int(13, 200)}.${int(0, 255)}.1.1;` }, host, t);
  }
  if (r < 0.9) {
    return sysmonEvent(5, { ...base }, host, t);
  }
  const name = user.split('\\')[1]!;
  const e = pick([4624, 4624, 4624, 4672, 4672, 4625, 4688, 4688, 4634]);
  if (e === 4688) {
    return securityEvent(4688, {
      SubjectUserSid: 'S-1-5-18', SubjectUserName: `${host.split('.')[0]}$`, SubjectDomainName: 'CORP', SubjectLogonId: '0x3e7',
      NewProcessId: `0x${hex(4).toLowerCase()}`, NewProcessName: p.image, TokenElevationType: '%%1936', ProcessId: `0x${hex(3).toLowerCase()}`,
      CommandLine: p.cmd(p.image), TargetUserSid: 'S-1-0-0', TargetUserName: '-', TargetDomainName: '-', TargetLogonId: '0x0',
      ParentProcessName: parent.image, MandatoryLabel: 'S-1-16-16384',
    }, host, t);
  }
  return securityEvent(e, {
    SubjectUserSid: 'S-1-5-18', SubjectUserName: `${host.split('.')[0]}$`, SubjectDomainName: 'CORP', SubjectLogonId: '0x3e7',
    TargetUserSid: `S-1-5-21-1111-2222-3333-${int(1000, 1200)}`, TargetUserName: name, TargetDomainName: 'CORP', TargetLogonId: `0x${hex(6).toLowerCase()}`,
    LogonType: pick([2, 3, 3, 5, 10]), LogonProcessName: 'Kerberos', AuthenticationPackageName: 'Kerberos', WorkstationName: '-',
    LogonGuid: guid(), TransmittedServices: '-', LmPackageName: '-', KeyLength: 0, ProcessId: '0x2f4', ProcessName: 'C:\\Windows\\System32\\lsass.exe',
    IpAddress: `10.1.${int(0, 20)}.${int(2, 250)}`, IpPort: String(int(49152, 65535)), ImpersonationLevel: '%%1833',
  }, host, t);
}

