// Shutdown plumbing shared by the in-process runner and the worker primary: quit trigger, signals, admin address file.
import { renameSync, writeFileSync } from 'node:fs';

/** A one-shot trigger: the first reason wins. */
export interface QuitTrigger {
  readonly reason: Promise<string>;
  fire(reason: string): void;
}

export function quitTrigger(): QuitTrigger {
  let fire!: (r: string) => void;
  const reason = new Promise<string>((resolve) => { fire = resolve; });
  return { reason, fire };
}

/** SIGTERM/SIGINT fire the trigger; a second signal exits at once. Returns the uninstaller. */
export function onShutdownSignals(trigger: QuitTrigger, onForce: () => void): () => void {
  let seen = 0;
  const handler = (sig: NodeJS.Signals): void => {
    seen++;
    if (seen === 1) trigger.fire(sig);
    else onForce();
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  return () => {
    process.off('SIGTERM', handler);
    process.off('SIGINT', handler);
  };
}

/** Envoy's --admin-address-path: "host:port" ("[::1]:port" for IPv6), written atomically. */
export function writeAdminAddress(path: string, host: string, port: number): void {
  const text = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** Waits for `p`, but no longer than `ms` (a drain that never settles must not keep the process alive). Resolves false on timeout. */
export function settleWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    timer.unref();
    p.then(() => { clearTimeout(timer); resolve(true); }, () => { clearTimeout(timer); resolve(true); });
  });
}

/** Extra time granted to a drain beyond its own timeout before shutdown goes on without it. */
export const DRAIN_GRACE_MS = 5000;
