// The self-generated root's state directory (--ca-dir): created 0700, key files written 0600 and atomically, refused when others can read a key.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { generateRoot, loadCaKeyPair, pemBlocks, type CaKeyPair } from './keypair.ts';

/** The signing root: its private key, then its certificate. */
export const ROOT_KEY_FILE = 'root-key.pem';
/** A root introduced by a staged rotation: trusted, not yet signing (same format). */
export const STAGED_KEY_FILE = 'staged-root-key.pem';
/** Earlier roots still trusted after a rotation (certificates only). */
export const PREVIOUS_ROOTS_FILE = 'previous-roots.pem';
/** Every trusted root, rewritten on each change, for tools outside the mesh (certificates only). */
export const BUNDLE_FILE = 'trust-bundle.pem';

const CHECK_MODES = process.platform !== 'win32';

function octal(mode: number): string {
  return `0${(mode & 0o777).toString(8)}`;
}

/** Writes `data` to a temporary file and moves it into place; with `exclusive`, returns false (writing nothing) if `file` exists. */
function writeAtomic(file: string, data: string, mode: number, exclusive = false): boolean {
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const fd = fs.openSync(tmp, 'wx', mode);
  try {
    fs.writeSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    if (!exclusive) {
      fs.renameSync(tmp, file);
      return true;
    }
    try {
      fs.linkSync(tmp, file);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    }
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

export class RootStore {
  readonly dir: string;

  private constructor(dir: string) {
    this.dir = dir;
  }

  /** Creates `dir` (mode 0700) if needed; refuses a directory that group or others can write. */
  static open(dir: string): RootStore {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = fs.statSync(dir);
    if (!st.isDirectory()) throw new Error(`CA directory ${dir} is not a directory`);
    if (CHECK_MODES && st.mode & 0o022) throw new Error(`CA directory ${dir} has mode ${octal(st.mode)}: group or others can write it (chmod 700 ${dir})`);
    return new RootStore(dir);
  }

  file(name: string): string {
    return path.join(this.dir, name);
  }

  /** Loads the signing root, generating and persisting one on first start (two processes racing agree on one). */
  async loadOrCreateActive(trustDomain: string, bits: number): Promise<{ pair: CaKeyPair; created: boolean }> {
    const existing = this.loadKeyFile(ROOT_KEY_FILE);
    if (existing) return { pair: existing, created: false };
    const { certPem, keyPem } = await generateRoot(trustDomain, bits);
    const created = writeAtomic(this.file(ROOT_KEY_FILE), keyPem + certPem, 0o600, true);
    const pair = this.loadKeyFile(ROOT_KEY_FILE);
    if (!pair) throw new Error(`CA directory ${this.dir}: ${ROOT_KEY_FILE} vanished while starting`);
    return { pair, created };
  }

  loadStaged(): CaKeyPair | null {
    return this.loadKeyFile(STAGED_KEY_FILE);
  }

  /** Certificates in previous-roots.pem (empty when absent). */
  loadPrevious(): string[] {
    const f = this.file(PREVIOUS_ROOTS_FILE);
    if (!fs.existsSync(f)) return [];
    return pemBlocks(fs.readFileSync(f, 'utf8')).filter((b) => b.type === 'CERTIFICATE').map((b) => b.pem);
  }

  writeStaged(certPem: string, keyPem: string): void {
    writeAtomic(this.file(STAGED_KEY_FILE), keyPem + certPem, 0o600);
  }

  removeStaged(): void {
    fs.rmSync(this.file(STAGED_KEY_FILE), { force: true });
  }

  /** Makes the staged root the signing root; `previous` (which should include the old signing root) is written first. */
  activateStaged(previous: readonly string[]): void {
    this.writePrevious(previous);
    fs.renameSync(this.file(STAGED_KEY_FILE), this.file(ROOT_KEY_FILE));
  }

  writePrevious(pems: readonly string[]): void {
    writeAtomic(this.file(PREVIOUS_ROOTS_FILE), pems.join(''), 0o644);
  }

  writeBundle(pems: readonly string[]): void {
    writeAtomic(this.file(BUNDLE_FILE), pems.join(''), 0o644);
  }

  /** Reads a key file (key + certificate), refusing it when group or others have any access. Null when absent. */
  private loadKeyFile(name: string): CaKeyPair | null {
    const f = this.file(name);
    let st: fs.Stats;
    try {
      st = fs.statSync(f);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    if (CHECK_MODES && st.mode & 0o077) {
      throw new Error(`CA key file ${f} has mode ${octal(st.mode)}: group or others can read it; refusing to use it (chmod 600 ${f})`);
    }
    const blocks = pemBlocks(fs.readFileSync(f, 'utf8'));
    const key = blocks.find((b) => b.type.endsWith('PRIVATE KEY'));
    const cert = blocks.find((b) => b.type === 'CERTIFICATE');
    if (!key || !cert) throw new Error(`CA key file ${f} must hold a PEM private key and its certificate`);
    return loadCaKeyPair(cert.pem, key.pem, `CA key file ${f}`);
  }
}
