// `pilotfish sidecar`: the pilot-agent equivalent — bootstrap from flags/env, identity agent, the proxy in-process, and the status port's /healthz/ready.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { runProxy } from '../cli/proxy-command.ts';
import { startAppProbeServer, type AppProbeServer } from './app-probes.ts';
import { parseSidecarArgs, sidecarHelp, type SidecarOptions } from './sidecar-args.ts';
import { nodeId, sidecarBootstrap } from './sidecar-bootstrap.ts';

/** The user id `pilotfish iptables` exempts from capture by default (Istio's 1337). */
export const PROXY_UID = 1337;

export interface StatusServer {
  readonly port: number;
  close(): Promise<void>;
}

/** GET `<admin>/ready` → true when the proxy is LIVE (listeners applied from the control plane, certificate issued). */
function adminReady(adminAddress: () => string | null): Promise<boolean> {
  const address = adminAddress();
  if (address === null) return Promise.resolve(false);
  return new Promise((resolve) => {
    const req = http.get(`http://${address}/ready`, { timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

/**
 * The status server (Istio's 15021): `GET /healthz/ready` answers 200 once the proxy is ready (its admin /ready is 200:
 * the first complete config from the control plane is applied and the workload certificate is in place), else 503.
 */
export function startStatusServer(port: number, adminAddress: () => string | null): Promise<StatusServer> {
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (url !== '/healthz/ready' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /healthz/ready\n');
      return;
    }
    void adminReady(adminAddress).then((ok) => {
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ready\n' : 'not ready: waiting for the xDS config and the workload certificate\n');
    });
  });
  server.keepAliveTimeout = 1000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => {
      server.off('error', reject);
      resolve({
        port: (server.address() as { port: number }).port,
        close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
      });
    });
  });
}

/** `pilotfish proxy` arguments for these options (the bootstrap inline, identity agent flags). */
export function proxyArgs(o: SidecarOptions, adminAddressPath: string): string[] {
  const args = ['--config-yaml', JSON.stringify(sidecarBootstrap(o)), '--admin-address-path', adminAddressPath,
    '--drain-time-s', String(o.drainTimeS), '--log-level', o.logLevel];
  if (o.caAddress !== null) args.push('--ca-address', o.caAddress);
  // The CA is on the control plane: its TLS port is verified with the same root (and the token only travels over TLS).
  if (o.caAddress !== null && o.xdsRootCert !== null) args.push('--ca-root-cert', o.xdsRootCert);
  if (o.identityTokenFile !== null) args.push('--identity-token-file', o.identityTokenFile);
  return args;
}

/** Runs the sidecar until SIGTERM/SIGINT; resolves with the exit code (0 ok, 1 startup error, 2 bad flags). */
export async function runSidecar(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const parsed = parseSidecarArgs(argv, env);
  if (!parsed.ok) {
    process.stderr.write(`pilotfish sidecar: ${parsed.error} (see pilotfish sidecar --help)\n`);
    return 2;
  }
  const o = parsed.options;
  if (o.help) {
    process.stdout.write(sidecarHelp());
    return 0;
  }
  for (const w of parsed.warnings) process.stderr.write(`pilotfish sidecar: warning: ${w}\n`);
  if (o.interception === 'iptables' && typeof process.getuid === 'function' && process.getuid() !== PROXY_UID) {
    process.stderr.write(`pilotfish sidecar: warning: running as uid ${process.getuid()}, not ${PROXY_UID}: with interception iptables the proxy's own `
      + `connections are only exempt from capture when its uid is the one given to pilotfish iptables -u\n`);
  }
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'pilotfish-sidecar-'));
  const adminFile = o.adminAddressPath ?? path.join(tmp, 'admin-address');
  const adminAddress = (): string | null => {
    try {
      const t = readFileSync(adminFile, 'utf8').trim();
      return /^.+:\d+$/.test(t) ? t : null;
    } catch {
      return null;
    }
  };
  let status: StatusServer;
  try {
    status = await startStatusServer(o.statusPort, adminAddress);
  } catch (err) {
    process.stderr.write(`pilotfish sidecar: cannot start the status server on port ${o.statusPort}: ${(err as Error).message}\n`);
    rmSync(tmp, { recursive: true, force: true });
    return 1;
  }
  // The app's own probes, rewritten by the injector to the sidecar's port 15020 (src/sidecar/app-probes.ts).
  let probes: AppProbeServer | null = null;
  if (env.PILOTFISH_APP_PROBERS) {
    try {
      probes = await startAppProbeServer(env);
    } catch (err) {
      process.stderr.write(`pilotfish sidecar: cannot start the app probe server: ${(err as Error).message}\n`);
      await status.close();
      rmSync(tmp, { recursive: true, force: true });
      return 1;
    }
  }
  process.stderr.write(`pilotfish sidecar: node ${nodeId(o)} (${o.address}), xDS ${o.xdsAddress}${o.xdsRootCert ? ` (TLS, roots ${o.xdsRootCert})` : ''}, interception ${o.interception}, status port ${status.port}\n`);
  try {
    return await runProxy(proxyArgs(o, adminFile));
  } finally {
    await probes?.close();
    await status.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}
