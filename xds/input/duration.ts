// Parses Gateway API durations (GEP-2257: "1h", "30s", "500ms", "1m30s") into milliseconds.

const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

/** Milliseconds, or an error message. "0s" is allowed (it means "disabled" where the field says so). */
export function parseGatewayDuration(s: string): number | string {
  if (!/^([0-9]{1,5}(h|ms|m|s)){1,4}$/.test(s)) {
    return `invalid duration "${s}" (expected e.g. "10s", "500ms", "1m30s": 1-4 groups of up to 5 digits with unit h, m, s or ms)`;
  }
  let ms = 0;
  for (const m of s.matchAll(/([0-9]+)(h|ms|m|s)/g)) ms += Number(m[1]) * UNIT_MS[m[2]];
  return ms;
}

/** Milliseconds as an Envoy proto-JSON Duration ({seconds, nanos}, zero parts left out). */
export function msToDuration(ms: number): { seconds?: number; nanos?: number } {
  const seconds = Math.floor(ms / 1000);
  const nanos = Math.round((ms - seconds * 1000) * 1_000_000);
  const d: { seconds?: number; nanos?: number } = {};
  if (seconds) d.seconds = seconds;
  if (nanos) d.nanos = nanos;
  return d;
}
