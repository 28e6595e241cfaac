/**
 * ISO 8601 UTC timestamps (as Date.prototype.toISOString writes them) for a stream of times that are mostly
 * in the same minute: the date, hour and minute are formatted once per minute, the seconds and milliseconds
 * appended. Every telemetry row carries one or two; toISOString costs a Date object and a formatted print.
 */
export interface IsoClock {
  /** The ISO string of an epoch-millisecond time (whole milliseconds; a fraction is dropped, as by Date). */
  iso(ms: number): string;
  /** The ISO string of now. */
  now(): string;
}

export function createIsoClock(): IsoClock {
  let minuteStart = NaN;
  let prefix = ''; // 'YYYY-MM-DDTHH:MM:'
  function iso(ms: number): string {
    const t = Math.trunc(ms);
    let offset = t - minuteStart;
    if (!(offset >= 0 && offset < 60_000)) {
      if (!Number.isFinite(t) || t < 0 || t >= 253_402_300_800_000) return new Date(t).toISOString(); // outside years 1970–9999
      minuteStart = t - (t % 60_000);
      prefix = new Date(minuteStart).toISOString().slice(0, 17);
      offset = t - minuteStart;
    }
    const s = Math.floor(offset / 1000);
    const m = offset - s * 1000;
    return `${prefix}${s < 10 ? '0' : ''}${s}.${m < 100 ? (m < 10 ? '00' : '0') : ''}${m}Z`;
  }
  return { iso, now: () => iso(Date.now()) };
}
