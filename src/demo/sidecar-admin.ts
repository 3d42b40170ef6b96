// Finds a sidecar's admin address (from --admin-address-path) and waits for its admin /ready to answer 200.
import fs from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import type { Child } from './children.ts';

const POLL_MS = 50;

/** Reads "host:port" from the admin address file once the sidecar has written it. */
async function readAdminAddress(path: string): Promise<string | null> {
  try {
    const text = (await fs.readFile(path, 'utf8')).trim();
    return /^.+:\d+$/.test(text) ? text : null;
  } catch {
    return null;
  }
}

async function readyStatus(admin: string): Promise<number | null> {
  try {
    const res = await fetch(`http://${admin}/ready`, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return null;
  }
}

/** Resolves with the admin "host:port" once /ready is 200; rejects when the sidecar exits or timeoutMs passes. */
export async function waitSidecarReady(child: Child, addressPath: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let admin: string | null = null;
  let lastStatus: number | null = null;
  while (Date.now() < deadline) {
    if (child.exitedAlready) throw new Error(`${child.name} exited before it was ready (${child.exitStatus ?? 'unknown status'})`);
    admin ??= await readAdminAddress(addressPath);
    if (admin) {
      lastStatus = await readyStatus(admin);
      if (lastStatus === 200) return admin;
    }
    await delay(POLL_MS);
  }
  const why = admin ? `admin ${admin}/ready last answered ${lastStatus ?? 'nothing'}` : `no admin address written to ${addressPath}`;
  throw new Error(`${child.name} not ready after ${timeoutMs} ms (${why})`);
}
