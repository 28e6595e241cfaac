import { titleCase } from './format';
import type { ActionRecord } from './model';

/** The isolation state from the device's own record, else from its latest isolate/release action. */
export function isolationFromActions(actions: ActionRecord[]): string {
  const last = actions.filter((a) => a.kind === 'isolate' || a.kind === 'release').sort((a, b) => b.createdAt.localeCompare(a.createdAt))[0];
  if (!last) return 'not isolated';
  if (last.kind === 'isolate') {
    if (last.state === 'succeeded') return 'isolated';
    if (last.state === 'failed' || last.state === 'rejected' || last.state === 'timedOut') return 'not isolated';
    return `isolation ${titleCase(last.state).toLowerCase()}`;
  }
  if (last.state === 'succeeded') return 'not isolated';
  return `release ${titleCase(last.state).toLowerCase()}`;
}
