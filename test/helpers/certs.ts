// Generates a throwaway self-signed TLS certificate at test time: with the openssl CLI when present, else node-forge.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import forge from 'node-forge';

export interface TestCert {
  /** PEM certificate (self-signed; also the CA clients must trust). */
  cert: string;
  /** PEM private key. */
  key: string;
  certPath: string;
  keyPath: string;
  /** How it was made: "openssl" or "node-forge". */
  via: 'openssl' | 'node-forge';
  /** Removes the files (also done when the process exits). */
  remove(): void;
}

const madeDirs = new Set<string>();
process.on('exit', () => {
  for (const d of madeDirs) fs.rmSync(d, { recursive: true, force: true });
});

function hasOpenssl(): boolean {
  const r = spawnSync('openssl', ['version'], { stdio: 'ignore' });
  return r.status === 0;
}

function withOpenssl(dir: string, cn: string, dns: string[], ips: string[]): boolean {
  const san = [...dns.map((d) => `DNS:${d}`), ...ips.map((i) => `IP:${i}`)].join(',');
  const r = spawnSync(
    'openssl',
    [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
      '-days', '2', '-subj', `/CN=${cn}`, '-addext', `subjectAltName=${san}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 },
  );
  return r.status === 0;
}

function withForge(dir: string, cn: string, dns: string[], ips: string[]): void {
  const keys = forge.pki.rsa.generateKeyPair(2048);
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = '01' + forge.util.bytesToHex(forge.random.getBytesSync(8));
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 2 * 24 * 3600_000);
  const attrs = [{ name: 'commonName', value: cn }];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true },
    { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
    { name: 'subjectAltName', altNames: [...dns.map((value) => ({ type: 2, value })), ...ips.map((ip) => ({ type: 7, ip }))] },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  fs.writeFileSync(path.join(dir, 'cert.pem'), forge.pki.certificateToPem(cert));
  fs.writeFileSync(path.join(dir, 'key.pem'), forge.pki.privateKeyToPem(keys.privateKey));
}

/** A self-signed certificate for `localhost` and 127.0.0.1 (override with opts). */
export function generateCert(opts: { commonName?: string; dnsNames?: string[]; ips?: string[]; forceForge?: boolean } = {}): TestCert {
  const cn = opts.commonName ?? 'localhost';
  const dns = opts.dnsNames ?? ['localhost'];
  const ips = opts.ips ?? ['127.0.0.1'];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pilotfish-cert-'));
  madeDirs.add(dir);
  let via: TestCert['via'] = 'openssl';
  if (opts.forceForge || !hasOpenssl() || !withOpenssl(dir, cn, dns, ips)) {
    via = 'node-forge';
    withForge(dir, cn, dns, ips);
  }
  const certPath = path.join(dir, 'cert.pem');
  const keyPath = path.join(dir, 'key.pem');
  return {
    cert: fs.readFileSync(certPath, 'utf8'),
    key: fs.readFileSync(keyPath, 'utf8'),
    certPath,
    keyPath,
    via,
    remove: () => {
      fs.rmSync(dir, { recursive: true, force: true });
      madeDirs.delete(dir);
    },
  };
}
