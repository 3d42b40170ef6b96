// The Pilotfish version (from package.json) and Envoy-style version string for /server_info.
import { readFileSync } from 'node:fs';

let cached: string | null = null;

export function packageVersion(): string {
  if (cached === null) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
      cached = pkg.version ?? '0.0.0';
    } catch {
      cached = '0.0.0';
    }
  }
  return cached;
}

/** Envoy's shape "<sha>/<version>/<status>/<build type>/<ssl>", e.g. "pilotfish/0.1.0/Clean/RELEASE/Node.js-v24.1.0". */
export function serverVersionString(): string {
  return `pilotfish/${packageVersion()}/Clean/RELEASE/Node.js-${process.version}`;
}
