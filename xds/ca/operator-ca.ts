// Loads an operator-supplied CA (--ca-cert chain + --ca-key, e.g. from a Kubernetes Secret) and extra trusted roots (--ca-extra-root).
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import { loadCaKeyPair, pemBlocks, type CaKeyPair } from './keypair.ts';

export interface OperatorCa {
  readonly signer: CaKeyPair;
  /** The signing CA's certificate, then its intermediates, then (when the file has it) the root. */
  readonly chain: readonly string[];
  /** The self-signed root at the end of the chain, if the file holds it. */
  readonly root: string | null;
}

function readCerts(file: string, what: string): string[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`${what} ${file} cannot be read: ${(err as Error).message}`);
  }
  const certs = pemBlocks(text).filter((b) => b.type === 'CERTIFICATE').map((b) => b.pem);
  if (certs.length === 0) throw new Error(`${what} ${file} holds no PEM CERTIFICATE`);
  return certs;
}

function selfSigned(x: X509Certificate): boolean {
  return x.checkIssued(x) && x.verify(x.publicKey);
}

/** The CA certificate file may hold the signing CA alone or followed by its chain up to the root; each link is checked. */
export function loadOperatorCa(certFile: string, keyFile: string): OperatorCa {
  const chain = readCerts(certFile, '--ca-cert');
  let keyPem: string;
  try {
    keyPem = fs.readFileSync(keyFile, 'utf8');
  } catch (err) {
    throw new Error(`--ca-key ${keyFile} cannot be read: ${(err as Error).message}`);
  }
  const signer = loadCaKeyPair(chain[0], keyPem, `--ca-cert ${certFile} with --ca-key ${keyFile}`);
  const xs = chain.map((p) => new X509Certificate(p));
  for (let i = 0; i + 1 < xs.length; i++) {
    if (!xs[i].checkIssued(xs[i + 1]) || !xs[i].verify(xs[i + 1].publicKey)) {
      throw new Error(`--ca-cert ${certFile}: certificate ${i + 2} did not issue certificate ${i + 1} (the file must be the CA certificate, then its issuers in order)`);
    }
  }
  const last = xs[xs.length - 1];
  return { signer, chain: [signer.certPem, ...xs.slice(1).map((x) => x.toString())], root: selfSigned(last) ? last.toString() : null };
}

/** Every certificate in the files, each of which must be a CA. */
export function loadExtraRoots(files: readonly string[]): string[] {
  const out: string[] = [];
  for (const f of files) {
    for (const pem of readCerts(f, '--ca-extra-root')) {
      const x = new X509Certificate(pem);
      if (!x.ca) throw new Error(`--ca-extra-root ${f}: "${x.subject.replace(/\n/g, ', ')}" is not a CA certificate`);
      out.push(x.toString());
    }
  }
  return out;
}
