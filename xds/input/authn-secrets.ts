// Writes the OIDC logins' secrets the control plane holds (client secrets from Secrets, generated HMAC keys) as Envoy SDS files the proxy's oauth2 filter reads.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import type { MeshModel, RequestAuthentication } from './types.ts';

const SECRET_TYPE = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret';

/**
 * Where the files go: PILOTFISH_SECRET_DIR, else ~/.pilotfish/secrets (0700). The gateway reads them from the same path,
 * so this works where the control plane and the proxies share a file system (local runs); elsewhere give the login
 * `file:` secrets (an SDS file mounted into the gateway).
 */
export function authnSecretDir(): string {
  return path.resolve(process.env.PILOTFISH_SECRET_DIR ?? path.join(os.homedir(), '.pilotfish', 'secrets'));
}

/** The SDS file of one login and the names of its two secrets in it. */
export function loginSecretFile(a: RequestAuthentication): { path: string; token: string; hmac: string } {
  return { path: path.join(authnSecretDir(), `${a.namespace}.${a.name}.oauth2.yaml`), token: `${a.namespace}/${a.name}/token`, hmac: `${a.namespace}/${a.name}/hmac` };
}

interface SdsResource { '@type': string; name: string; generic_secret: { secret: { inline_string: string } } }

function readExisting(file: string): Map<string, string> {
  const out = new Map<string, string>();
  try {
    const doc = YAML.parse(fs.readFileSync(file, 'utf8')) as { resources?: SdsResource[] } | null;
    for (const r of doc?.resources ?? []) if (typeof r?.generic_secret?.secret?.inline_string === 'string') out.set(r.name, r.generic_secret.secret.inline_string);
  } catch { /* absent or unreadable: written anew */ }
  return out;
}

/**
 * For every login whose client secret comes from a Secret or whose HMAC key is not given: writes (atomically, 0600)
 * `<dir>/<ns>.<name>.oauth2.yaml` with those secrets. A generated HMAC key is kept across restarts (read back from the
 * file), so sessions survive a control plane restart. Returns problems (not fatal: the proxy reports the missing secret).
 */
export function writeAuthnSecrets(model: MeshModel): string[] {
  const problems: string[] = [];
  for (const a of model.authentications ?? []) {
    const o = a.oidc;
    if (!o || ('file' in o.clientSecret && o.hmacSecret !== null && 'file' in o.hmacSecret)) continue;
    const f = loginSecretFile(a);
    const have = readExisting(f.path);
    const resources: SdsResource[] = [];
    const put = (name: string, value: string) => resources.push({ '@type': SECRET_TYPE, name, generic_secret: { secret: { inline_string: value } } });
    if ('secret' in o.clientSecret) put(f.token, model.opaqueSecrets?.get(o.clientSecret.secret)?.data[o.clientSecret.key] ?? '');
    if (o.hmacSecret === null) put(f.hmac, have.get(f.hmac) ?? randomBytes(32).toString('base64url'));
    else if ('secret' in o.hmacSecret) put(f.hmac, model.opaqueSecrets?.get(o.hmacSecret.secret)?.data[o.hmacSecret.key] ?? '');
    const text = `# Written by pilotfish control-plane for RequestAuthentication ${a.namespace}/${a.name}: its oauth2 filter's secrets (Envoy SDS file).\n${YAML.stringify({ resources })}`;
    try {
      fs.mkdirSync(path.dirname(f.path), { recursive: true, mode: 0o700 });
      if (fs.existsSync(f.path) && fs.readFileSync(f.path, 'utf8') === text) continue;
      const tmp = `${f.path}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, text, { mode: 0o600 });
      fs.renameSync(tmp, f.path);
    } catch (err) {
      problems.push(`RequestAuthentication ${a.namespace}/${a.name}: cannot write its oauth2 secrets to ${f.path}: ${(err as Error).message}`);
    }
  }
  return problems;
}
