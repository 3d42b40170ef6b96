// Runs `pilotfish sidecar` as child processes of a test, keeping what they print, and stops every one of them when the test is done.
import { spawn, type ChildProcess } from 'node:child_process';
import { PILOTFISH_BIN, REPO_ROOT } from './sidecar.ts';
import { withTimeout } from './wait.ts';

export interface SidecarProcess {
  readonly child: ChildProcess;
  /** stdout and stderr chunks, in arrival order. */
  readonly output: string[];
}

export class SidecarProcesses {
  private readonly children: ChildProcess[] = [];

  /** Starts `pilotfish sidecar ...args` from the repository root. */
  start(args: string[]): SidecarProcess {
    const child = spawn(process.execPath, [PILOTFISH_BIN, 'sidecar', ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.push(child);
    const output: string[] = [];
    child.stdout!.on('data', (d: Buffer) => output.push(d.toString()));
    child.stderr!.on('data', (d: Buffer) => output.push(d.toString()));
    return { child, output };
  }

  /** SIGTERM to each one still running, SIGKILL to any that has not exited 20 s later. */
  async stopAll(): Promise<void> {
    await Promise.all(this.children.map((c) => (c.exitCode === null && c.signalCode === null
      ? withTimeout(new Promise((r) => { c.once('exit', r); c.kill('SIGTERM'); }), 20_000, 'the sidecar to exit').catch(() => c.kill('SIGKILL'))
      : undefined)));
  }
}
