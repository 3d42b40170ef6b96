// Local credentials: a YAML/JSON token file mapping bearer tokens to workload identities, re-read when it changes, created if missing.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import YAML from 'yaml';
import { CaError } from './ca-error.ts';
import type { Authenticator } from './credentials.ts';
import { namespaceError, serviceAccountError, type WorkloadIdentity } from './spiffe.ts';

export const MIN_TOKEN_LENGTH = 16;

const HEADER = `# Pilotfish control plane: local workload credentials for the certificate authority (--token-file).
# Each key is a bearer token a workload sends as "authorization: Bearer <token>"; its value is the one identity
# the token may ask a certificate for: spiffe://<trust-domain>/ns/<namespace>/sa/<serviceAccount>.
# The control plane re-reads this file when it changes. Keep it private (mode 0600).
`;

function hash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function preview(token: string): string {
  return `${token.slice(0, 4)}…`;
}

/** Parses the file's text into token hash → identity; throws an Error listing every problem. */
export function parseTokenFile(text: string, file: string): Map<string, WorkloadIdentity> {
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (err) {
    throw new Error(`token file ${file}: ${(err as Error).message.split('\n')[0]}`);
  }
  const out = new Map<string, WorkloadIdentity>();
  if (doc === null || doc === undefined) return out;
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`token file ${file}: expected a mapping of token → {namespace, serviceAccount}`);
  const problems: string[] = [];
  for (const [token, v] of Object.entries(doc as Record<string, unknown>)) {
    const where = `token "${preview(token)}"`;
    if (token.length < MIN_TOKEN_LENGTH) problems.push(`${where}: shorter than ${MIN_TOKEN_LENGTH} characters`);
    const e = (v ?? {}) as { namespace?: unknown; serviceAccount?: unknown };
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      problems.push(`${where}: expected {namespace, serviceAccount}`);
      continue;
    }
    const namespace = e.namespace === undefined ? 'default' : String(e.namespace);
    const serviceAccount = typeof e.serviceAccount === 'string' ? e.serviceAccount : '';
    const err = namespaceError(namespace) ?? serviceAccountError(serviceAccount);
    if (err) problems.push(`${where}: ${err}`);
    else out.set(hash(token), { namespace, serviceAccount });
  }
  if (problems.length) throw new Error(`token file ${file}:\n  ${problems.join('\n  ')}`);
  return out;
}

/** The text of a new token file with one random token per identity. */
export function tokenFileText(identities: readonly WorkloadIdentity[]): string {
  const lines = identities.map((id) => `${JSON.stringify(randomBytes(24).toString('base64url'))}: { namespace: ${JSON.stringify(id.namespace)}, serviceAccount: ${JSON.stringify(id.serviceAccount)} }`);
  return `${HEADER}${lines.length ? '' : '{}\n'}${lines.join('\n')}${lines.length ? '\n' : ''}`;
}

export class TokenFileAuthenticator implements Authenticator {
  readonly kind = 'token-file';
  readonly file: string;
  private readonly logger: Logger;
  private tokens: Map<string, WorkloadIdentity>;
  private stamp: string;

  private constructor(file: string, logger: Logger, tokens: Map<string, WorkloadIdentity>, stamp: string) {
    this.file = file;
    this.logger = logger;
    this.tokens = tokens;
    this.stamp = stamp;
  }

  /** Loads `file`; when it does not exist, writes one (mode 0600) with a random token for each of `seed`. */
  static open(file: string, logger: Logger, seed: readonly WorkloadIdentity[] = []): TokenFileAuthenticator {
    if (!fs.existsSync(file)) {
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      try {
        fs.writeFileSync(file, tokenFileText(seed), { mode: 0o600, flag: 'wx' });
        logger.info({ file, identities: seed.length }, 'CA: wrote a new token file');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
    const st = fs.statSync(file);
    if (process.platform !== 'win32' && st.mode & 0o044) logger.warn({ file, mode: `0${(st.mode & 0o777).toString(8)}` }, 'CA: the token file is readable by group or others');
    const tokens = parseTokenFile(fs.readFileSync(file, 'utf8'), file);
    return new TokenFileAuthenticator(file, logger, tokens, `${st.mtimeMs}:${st.size}`);
  }

  /** Identities currently granted (for status). */
  get size(): number {
    return this.tokens.size;
  }

  async authenticate(token: string): Promise<WorkloadIdentity> {
    await this.refresh();
    const id = this.tokens.get(hash(token));
    if (!id) throw new CaError('UNAUTHENTICATED', `the token is not in the token file ${this.file}`);
    return id;
  }

  /** Re-reads the file when its mtime or size changed; a broken edit is logged and the previous tokens stay. */
  private async refresh(): Promise<void> {
    let st: fs.Stats;
    try {
      st = await fs.promises.stat(this.file);
    } catch (err) {
      this.logger.error({ file: this.file, err: (err as Error).message }, 'CA: token file unreadable; keeping the tokens loaded before');
      return;
    }
    const stamp = `${st.mtimeMs}:${st.size}`;
    if (stamp === this.stamp) return;
    this.stamp = stamp;
    try {
      this.tokens = parseTokenFile(await fs.promises.readFile(this.file, 'utf8'), this.file);
      this.logger.info({ file: this.file, tokens: this.tokens.size }, 'CA: token file reloaded');
    } catch (err) {
      this.logger.error({ file: this.file }, `CA: token file change refused, keeping the previous tokens: ${(err as Error).message}`);
    }
  }
}
