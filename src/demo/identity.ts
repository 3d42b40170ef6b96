// The demo's mesh identities: the CA's token file and each sidecar's token (in the demo's temp dir), the sidecars' identity flags, and certificate/mTLS proof for the printout.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { PaymentsClient } from './apps/payments-proto.ts';
import { GATEWAY_SERVICE_ACCOUNT, NAMESPACE, SERVICES, type MeshPorts, type ServiceName } from './mesh-config.ts';

/** Where the control plane keeps its CA (`--ca-dir`, `--token-file`) and where each sidecar's token is. */
export interface DemoCredentials {
  readonly caDir: string;
  readonly tokenFile: string;
  readonly sidecarTokens: Readonly<Record<ServiceName, string>>;
  /** The gateway's token file (identity spiffe://cluster.local/ns/default/sa/gateway). */
  readonly gatewayToken: string;
}

/** The SPIFFE ID of a demo service (service account = service name, trust domain cluster.local). */
export function demoSpiffeId(s: ServiceName): string {
  return `spiffe://cluster.local/ns/${NAMESPACE}/sa/${s}`;
}

/**
 * Writes the CA's token file (xds/README.md "Credentials": token → {namespace, serviceAccount}, mode 0600) under
 * `<dir>/ca` (0700, so the CA accepts it) and one file per sidecar holding only its own token.
 */
export function writeDemoCredentials(dir: string): DemoCredentials {
  const caDir = path.join(dir, 'ca');
  fs.mkdirSync(caDir, { mode: 0o700 });
  const tokens = {} as Record<ServiceName, string>;
  const sidecarTokens = {} as Record<ServiceName, string>;
  for (const s of SERVICES) {
    tokens[s] = randomBytes(24).toString('base64url');
    sidecarTokens[s] = path.join(dir, `${s}-sidecar.token`);
    fs.writeFileSync(sidecarTokens[s], tokens[s], { mode: 0o600 });
  }
  const lines = SERVICES.map((s) => `${JSON.stringify(tokens[s])}: { namespace: ${JSON.stringify(NAMESPACE)}, serviceAccount: ${JSON.stringify(s)} }`);
  const gw = randomBytes(24).toString('base64url');
  const gatewayToken = path.join(dir, 'gateway.token');
  fs.writeFileSync(gatewayToken, gw, { mode: 0o600 });
  lines.push(`${JSON.stringify(gw)}: { namespace: ${JSON.stringify(NAMESPACE)}, serviceAccount: ${JSON.stringify(GATEWAY_SERVICE_ACCOUNT)} }`);
  const tokenFile = path.join(caDir, 'tokens.yaml');
  fs.writeFileSync(tokenFile, `# Demo workload credentials for the control plane's CA (one token per sidecar and the gateway).\n${lines.join('\n')}\n`, { mode: 0o600 });
  return { caDir, tokenFile, sidecarTokens, gatewayToken };
}

/** The sidecar's identity agent flags: the CA serves on the control plane's xDS port. */
export function identityArgs(s: ServiceName, p: MeshPorts, c: DemoCredentials): string[] {
  return ['--ca-address', `127.0.0.1:${p.controlPlane.xds}`, '--identity-token-file', c.sidecarTokens[s]];
}

interface WorkloadCert {
  identity: string;
  serial: string;
  notAfter: string;
}

/** One line per workload certificate the control plane's CA issued (/debug/certs `workloads`): identity, serial, expiry. */
export async function certificateLines(statusUrl: string): Promise<string[]> {
  try {
    const res = await fetch(`${statusUrl}/debug/certs`, { signal: AbortSignal.timeout(2000) });
    const body = (await res.json()) as { workloads?: WorkloadCert[] };
    return (body.workloads ?? []).map((w) => `${w.identity}  serial ${w.serial.toLowerCase()}  expires ${w.notAfter}`).sort();
  } catch (err) {
    return [`/debug/certs failed: ${(err as Error).message}`];
  }
}

/**
 * Sends one plaintext HTTP request straight to an inbound listener; resolves with what happened: "refused" when the
 * connection closed without an HTTP response (a STRICT listener), else the status line.
 */
export function plaintextProbe(port: number, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    const done = (what: string) => { clearTimeout(timer); s.destroy(); resolve(what); };
    const timer = setTimeout(() => done(got === '' ? 'no answer (timeout)' : got.split('\r\n')[0]), timeoutMs);
    s.on('data', (d: Buffer) => { got += d.toString('latin1'); if (got.includes('\r\n')) done(got.split('\r\n')[0]); });
    s.on('error', () => done(got === '' ? 'refused' : got.split('\r\n')[0]));
    s.on('close', () => done(got === '' ? 'refused' : got.split('\r\n')[0]));
    s.write('GET /orders HTTP/1.1\r\nHost: orders\r\n\r\n');
  });
}

/** The workload certificate a sidecar serves, from its /config_dump SecretsConfigDump ("default": identity, serial, expiry). */
export async function sidecarCertificateLine(admin: string): Promise<string> {
  try {
    const res = await fetch(`http://${admin}/config_dump`, { signal: AbortSignal.timeout(2000) });
    const dump = (await res.json()) as { configs?: { '@type': string; dynamic_active_secrets?: { name: string; certificate?: Record<string, string> }[] }[] };
    const secrets = dump.configs?.find((c) => c['@type'] === 'type.googleapis.com/envoy.admin.v3.SecretsConfigDump');
    const c = secrets?.dynamic_active_secrets?.find((x) => x.name === 'default')?.certificate;
    return c ? `${c.identity}  serial ${c.serial_number}  expires ${c.expiration_time}` : 'no workload certificate in /config_dump';
  } catch (err) {
    return `/config_dump failed: ${(err as Error).message}`;
  }
}

/** One plaintext gRPC call straight to payments' inbound listener (no client certificate): its gRPC status, e.g. "7 PERMISSION_DENIED: RBAC: access denied". */
export function paymentsProbe(port: number): Promise<string> {
  return new Promise((resolve) => {
    const client = new PaymentsClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.default_authority': 'payments' }) as unknown as grpc.Client & {
      Authorize(req: object, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null) => void): void;
    };
    client.Authorize({ orderId: 'probe', amountCents: 1 }, { deadline: Date.now() + 5000 }, (err) => {
      client.close();
      resolve(err ? `${err.code} ${grpc.status[err.code]}: ${err.details}` : '0 OK');
    });
  });
}
