// Network-namespace "pods" for interception tests: a bridge in its own namespace, pods on veths, processes inside (optionally as the proxy uid), cleanup.
import { execFile, execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { withTimeout } from '../helpers/wait.ts';

export const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');
export const PROXY_UID = 1337;

/** Why the namespace tests cannot run here, or null when they can. */
export function netnsUnavailable(): string | null {
  if (process.platform !== 'linux') return `needs Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, iptables)';
  for (const tool of ['ip', 'iptables', 'nsenter', 'tcpdump']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `needs ${tool} on PATH`;
  }
  const probe = `pfprobe${randomBytes(3).toString('hex')}`;
  const r = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (r.status !== 0) return `cannot create a network namespace: ${r.stderr.trim()}`;
  spawnSync('ip', ['netns', 'del', probe]);
  return null;
}

/**
 * A Node binary the proxy uid can execute: the running one lives under /root (mode 0700) on CI, so it is copied once
 * to a world-readable cache directory (by size, so a new Node version gets a new copy).
 */
export function nodeForProxyUid(): string {
  const st = fs.statSync(process.execPath);
  const dir = path.join(os.tmpdir(), `pilotfish-node-${process.version}`);
  const target = path.join(dir, 'node');
  if (fs.existsSync(target) && fs.statSync(target).size === st.size) return target;
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  fs.chmodSync(dir, 0o755);
  const tmp = `${target}.${process.pid}.tmp`;
  fs.copyFileSync(process.execPath, tmp);
  fs.chmodSync(tmp, 0o755);
  fs.renameSync(tmp, target);
  return target;
}

/** Null when the proxy uid can read `root` and run its bin/pilotfish with `node`, else why not. */
function unreadableByProxy(node: string, root: string): string | null {
  const r = spawnSync(node, ['-e', `require('fs').accessSync(${JSON.stringify(path.join(root, 'bin', 'pilotfish'))}, 4); `
    + `require('fs').accessSync(${JSON.stringify(path.join(root, 'node_modules', 'pino', 'package.json'))}, 4)`],
  { uid: PROXY_UID, gid: PROXY_UID, encoding: 'utf8', env: { HOME: '/tmp' } });
  return r.status === 0 ? null : `uid ${PROXY_UID} cannot read ${root}: ${(r.stderr || r.error?.message || '').trim().split('\n')[0]}`;
}

/**
 * Where the proxy uid runs pilotfish from: the repository itself when it can read it, else a world-readable copy of
 * what runs (node_modules once per lock file; sources every time). Returns the directory, or why there is none.
 */
export function runtimeRootForProxy(node: string, forceCopy = process.env.PILOTFISH_NETNS_COPY === '1'): { root: string } | { error: string } {
  if (!forceCopy && unreadableByProxy(node, REPO_ROOT) === null) return { root: REPO_ROOT };
  const lock = fs.readFileSync(path.join(REPO_ROOT, 'package-lock.json'));
  const root = path.join(os.tmpdir(), `pilotfish-repo-${createHash('sha256').update(REPO_ROOT).update(lock).digest('hex').slice(0, 12)}`);
  fs.mkdirSync(root, { recursive: true, mode: 0o755 });
  fs.chmodSync(root, 0o755);
  const copy = (rel: string): void => fs.cpSync(path.join(REPO_ROOT, rel), path.join(root, rel), { recursive: true, force: true });
  if (!fs.existsSync(path.join(root, 'node_modules', '.copied'))) {
    copy('node_modules');
    fs.writeFileSync(path.join(root, 'node_modules', '.copied'), '');
  }
  for (const rel of ['package.json', 'bin', 'src', 'xds', path.join('test', 'netns')]) copy(rel);
  spawnSync('chmod', ['-R', 'a+rX', root]);
  const err = unreadableByProxy(node, root);
  return err === null ? { root } : { error: `${err} (also after copying the repository there)` };
}

function run(cmd: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { encoding: 'utf8', timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

/** A process started in a pod, with its output kept for failure messages. */
export interface PodProcess {
  readonly child: ChildProcess;
  readonly output: string[];
  /** Resolves with the first output line matching `re` (or rejects after `ms`). */
  waitForLine(re: RegExp, ms: number): Promise<string>;
  stop(): Promise<void>;
}

export interface Pod {
  readonly name: string;
  readonly ns: string;
  readonly ip: string;
  /** Runs a command in the pod (as root) to completion; rejects with its stderr on failure. */
  exec(cmd: string, args: readonly string[]): Promise<string>;
  /** Starts a long-running process in the pod; `uid` runs it as that user and group (supplementary groups dropped). */
  start(cmd: string, args: readonly string[], opts?: { uid?: number; env?: Record<string, string> }): PodProcess;
}

const started = new Set<ChildProcess>();

/** A random 10.x.y (/24) that no route of this host already uses, so the pods' addresses are reachable from here. */
function freePrefix(): string {
  const routes = spawnSync('ip', ['-4', 'route', 'show', 'table', 'all'], { encoding: 'utf8' }).stdout ?? '';
  for (;;) {
    const [x, y] = randomBytes(2);
    const prefix = `10.${200 + (x % 50)}.${y}`;
    if (!routes.includes(`${prefix}.`)) return prefix;
  }
}

function startProcess(argv: readonly string[], env: Record<string, string>): PodProcess {
  const child = spawn(argv[0], argv.slice(1), { cwd: os.tmpdir(), env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  started.add(child);
  const output: string[] = [];
  const waiters = new Set<{ re: RegExp; resolve: (l: string) => void }>();
  const onData = (chunk: Buffer): void => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line) continue;
      if (output.length < 5000) output.push(line);
      for (const w of waiters) if (w.re.test(line)) { waiters.delete(w); w.resolve(line); }
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<void>((resolve) => child.once('exit', () => { started.delete(child); resolve(); }));
  return {
    child,
    output,
    waitForLine(re, ms) {
      const seen = output.find((l) => re.test(l));
      if (seen !== undefined) return Promise.resolve(seen);
      let w!: { re: RegExp; resolve: (l: string) => void };
      const p = new Promise<string>((resolve) => { w = { re, resolve }; waiters.add(w); });
      return withTimeout(p, ms, `a line matching ${re} from ${argv.join(' ').slice(0, 120)}`).finally(() => waiters.delete(w));
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      try { process.kill(-child.pid!, 'SIGTERM'); } catch { /* gone */ }
      try {
        await withTimeout(exited, 10_000, 'a pod process to exit');
      } catch {
        try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ }
        await withTimeout(exited, 5000, 'a pod process to die').catch(() => undefined);
      }
    },
  };
}

/**
 * The test network: bridge `br0` in namespace `<id>-br`, the root namespace attached at `<prefix>.1` (the control plane
 * listens there), and pods `<id>-<name>` at `<prefix>.<10+i>`. Names carry a random id, so runs never collide.
 */
export class TestNet {
  readonly id = `pf${randomBytes(3).toString('hex')}`;
  readonly prefix = freePrefix();
  readonly hostIp = `${this.prefix}.1`;
  readonly bridgeNs = `${this.id}-br`;
  private readonly namespaces: string[] = [];
  private readonly hostLink = `${this.id}h`;
  private pods = 0;
  private readonly exitHook = (): void => this.cleanupSync();
  /** A runner's SIGTERM/SIGINT (e.g. a timeout) must not leave namespaces behind either. */
  private readonly signalHook = (sig: NodeJS.Signals): void => {
    this.cleanupSync();
    process.exit(128 + (os.constants.signals[sig] ?? 15));
  };

  async create(): Promise<void> {
    process.once('exit', this.exitHook);
    process.once('SIGTERM', this.signalHook);
    process.once('SIGINT', this.signalHook);
    await this.addNs(this.bridgeNs);
    await run('ip', ['-n', this.bridgeNs, 'link', 'add', 'br0', 'type', 'bridge']);
    await run('ip', ['-n', this.bridgeNs, 'link', 'set', 'br0', 'up']);
    await run('ip', ['link', 'add', this.hostLink, 'type', 'veth', 'peer', 'name', 'up0', 'netns', this.bridgeNs]);
    await run('ip', ['-n', this.bridgeNs, 'link', 'set', 'up0', 'master', 'br0', 'up']);
    await run('ip', ['addr', 'add', `${this.hostIp}/24`, 'dev', this.hostLink]);
    await run('ip', ['link', 'set', this.hostLink, 'up']);
  }

  private async addNs(ns: string): Promise<void> {
    await run('ip', ['netns', 'add', ns]);
    this.namespaces.push(ns);
    await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  }

  async addPod(name: string): Promise<Pod> {
    const i = this.pods++;
    const ns = `${this.id}-${name}`;
    const ip = `${this.prefix}.${10 + i}`;
    await this.addNs(ns);
    await run('ip', ['-n', this.bridgeNs, 'link', 'add', `p${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    await run('ip', ['-n', this.bridgeNs, 'link', 'set', `p${i}`, 'master', 'br0', 'up']);
    await run('ip', ['-n', ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
    await run('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
    const baseEnv = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/tmp' };
    return {
      name, ns, ip,
      exec: (cmd, args) => run('ip', ['netns', 'exec', ns, cmd, ...args]),
      start: (cmd, args, opts = {}) => {
        const env = { ...baseEnv, ...(opts.env ?? {}) };
        const enter = opts.uid === undefined
          ? ['ip', 'netns', 'exec', ns]
          : ['nsenter', `--net=/run/netns/${ns}`, '-S', String(opts.uid), '-G', String(opts.uid), '--'];
        return startProcess([...enter, cmd, ...args], env);
      },
    };
  }

  /**
   * tcpdump on every port of the bridge (a bridge device itself only sees frames for its own stack, not those it
   * forwards between pods), writing a pcap file; resolves once it is capturing.
   */
  async capture(filter: string, file: string): Promise<PodProcess> {
    const p = startProcess(['ip', 'netns', 'exec', this.bridgeNs, 'tcpdump', '-i', 'any', '--immediate-mode', '-U', '-n', '-s', '0', '-w', file, filter], { PATH: process.env.PATH ?? '' });
    await p.waitForLine(/listening on/, 20_000);
    return p;
  }

  /** Kills everything started in the pods and deletes namespaces and links (idempotent). */
  async cleanup(): Promise<void> {
    await Promise.all([...started].map(async (c) => {
      try { process.kill(-c.pid!, 'SIGKILL'); } catch { /* gone */ }
    }));
    this.cleanupSync();
  }

  private cleanupSync(): void {
    for (const c of started) {
      try { process.kill(-c.pid!, 'SIGKILL'); } catch { /* gone */ }
    }
    for (const ns of this.namespaces.splice(0).reverse()) {
      try { execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' }); } catch { /* already gone */ }
    }
    try { execFileSync('ip', ['link', 'del', this.hostLink], { stdio: 'ignore' }); } catch { /* went with the bridge namespace */ }
    process.off('exit', this.exitHook);
    process.off('SIGTERM', this.signalHook);
    process.off('SIGINT', this.signalHook);
  }
}
