// `pilotfish inject`: adds the sidecar to the workloads of YAML manifests (files or stdin), like istioctl kube-inject.
import { readFileSync, writeFileSync } from 'node:fs';
import { hostPortError, scanFlags, type FlagSpec } from '../cli/flags.ts';
import { packageVersion } from '../cli/version.ts';
import { DEFAULT_TOKEN_AUDIENCE, DEFAULT_XDS_ADDRESS } from './names.ts';
import { InjectError } from './pod-settings.ts';
import type { InjectOptions } from './templates.ts';
import { injectManifest } from './yaml-manifest.ts';

export const DEFAULT_IMAGE = `pilotfish:${packageVersion()}`;

export const INJECT_USAGE = `Usage: pilotfish inject -f FILE [-f FILE ...] [-o FILE] [flags]

Adds the pilotfish sidecar to every Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job and CronJob (and the
items of a List) in multi-document YAML, and writes the result; other documents pass through unchanged. Injecting
twice changes nothing. A pod with annotation sidecar.pilotfish.io/inject: "false" or hostNetwork is left alone.

  -f, --filename FILE        manifest to read; "-" reads stdin (repeatable)
  -o, --output FILE          write here instead of stdout (nothing is written when an error is found)
      --image IMAGE          the pilotfish image (default ${DEFAULT_IMAGE})
      --image-pull-policy P  Always, IfNotPresent or Never (default: the cluster's)
      --xds-address H:P      control plane the sidecars connect to (default ${DEFAULT_XDS_ADDRESS})
      --ca-address H:P       certificate authority when it is not the xDS address
      --native-sidecar B     true (default; Kubernetes >= 1.29): the proxy is an init container with
                             restartPolicy Always; false: a regular first container with postStart/preStop hooks
      --token-audience AUD   audience of the projected service-account token (default ${DEFAULT_TOKEN_AUDIENCE})
  -h, --help                 show this help
`;

export interface InjectArgs {
  readonly files: string[];
  readonly output: string | null;
  readonly options: InjectOptions;
  readonly help: boolean;
}

const FLAGS: readonly FlagSpec[] = [
  { names: ['-f', '--filename'], arg: 'FILE' },
  { names: ['-o', '--output'], arg: 'FILE' },
  { names: ['--image'], arg: 'IMAGE' },
  { names: ['--image-pull-policy'], arg: 'P' },
  { names: ['--xds-address'], arg: 'H:P' },
  { names: ['--ca-address'], arg: 'H:P' },
  { names: ['--native-sidecar'], arg: 'B' },
  { names: ['--token-audience'], arg: 'AUD' },
  { names: ['-h', '--help'], arg: null },
];

export function parseInjectArgs(argv: readonly string[]): { ok: true; args: InjectArgs } | { ok: false; error: string } {
  const files: string[] = [];
  let output: string | null = null;
  let help = false;
  let image = DEFAULT_IMAGE;
  let pullPolicy: InjectOptions['imagePullPolicy'];
  let xdsAddress = DEFAULT_XDS_ADDRESS;
  let caAddress: string | undefined;
  let native = true;
  let audience = DEFAULT_TOKEN_AUDIENCE;
  const err = scanFlags(argv, FLAGS, (flag, v, name) => {
    if (flag.arg !== null && v === '') return `${name} requires a value (${flag.arg})`;
    switch (flag.names.at(-1)) {
      case '--filename': files.push(v); break;
      case '--output': output = v; break;
      case '--image': image = v; break;
      case '--image-pull-policy':
        if (v !== 'Always' && v !== 'IfNotPresent' && v !== 'Never') return '--image-pull-policy must be Always, IfNotPresent or Never';
        pullPolicy = v;
        break;
      case '--xds-address': case '--ca-address': {
        // The sidecar's own check (PILOTFISH_XDS_ADDRESS / PILOTFISH_CA_ADDR): what is accepted here starts there.
        const e = hostPortError(name, v);
        if (e) return e;
        if (name === '--xds-address') xdsAddress = v;
        else caAddress = v;
        break;
      }
      case '--native-sidecar':
        if (v !== 'true' && v !== 'false') return '--native-sidecar must be true or false';
        native = v === 'true';
        break;
      case '--token-audience': audience = v; break;
      default: help = true;
    }
    return null;
  });
  if (err) return { ok: false, error: err };
  if (!help && files.length === 0) return { ok: false, error: 'at least one -f FILE (or -f - for stdin) is required' };
  const options: InjectOptions = {
    image, xdsAddress, nativeSidecar: native, tokenAudience: audience, version: packageVersion(),
    ...(pullPolicy ? { imagePullPolicy: pullPolicy } : {}), ...(caAddress ? { caAddress } : {}),
  };
  return { ok: true, args: { files, output, options, help } };
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function runInjectCommand(argv: readonly string[]): Promise<number> {
  const parsed = parseInjectArgs(argv);
  if (!parsed.ok) {
    process.stderr.write(`pilotfish inject: ${parsed.error}\n\n${INJECT_USAGE}`);
    return 2;
  }
  const { files, output, options, help } = parsed.args;
  if (help) {
    process.stdout.write(INJECT_USAGE);
    return 0;
  }
  const parts: string[] = [];
  try {
    for (const f of files) {
      let text: string;
      try {
        text = f === '-' ? await readStdin() : readFileSync(f, 'utf8');
      } catch (err) {
        throw new InjectError(`cannot read ${f}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
      const r = injectManifest(text, options, f === '-' ? 'stdin' : f);
      for (const p of r.pods) if (!p.outcome.injected) process.stderr.write(`pilotfish inject: ${f === '-' ? 'stdin' : f}: skipped ${p.what}: ${p.outcome.reason}\n`);
      parts.push(r.text.endsWith('\n') || r.text === '' ? r.text : `${r.text}\n`);
    }
  } catch (err) {
    if (!(err instanceof InjectError)) throw err;
    process.stderr.write(`pilotfish inject: ${err.message}\n`);
    return 1;
  }
  // Files after the first start a new document unless they already do.
  const text = parts.map((p, i) => (i > 0 && !/^---/.test(p.trimStart()) ? `---\n${p}` : p)).join('');
  if (output) writeFileSync(output, text);
  else process.stdout.write(text);
  return 0;
}
