// The `pilotfish` command line: dispatches subcommands (proxy, control-plane) and prints the top-level help.
import { packageVersion } from './version.ts';

const COMMANDS: readonly (readonly [string, string])[] = [
  ['proxy', 'run the sidecar proxy from an Envoy v3 bootstrap (Envoy-compatible flags; see pilotfish proxy --help)'],
  ['control-plane', 'serve xDS to sidecars from Kubernetes-shaped YAML (see pilotfish control-plane --help)'],
  ['sidecar', 'run a workload\'s sidecar from flags/env: identity, xDS, capture listeners, /healthz/ready (see pilotfish sidecar --help)'],
  ['iptables', 'install the NAT rules that capture a pod\'s traffic (init container; see pilotfish iptables --help)'],
  ['inject', 'add the sidecar to Kubernetes workloads in YAML manifests (see pilotfish inject --help)'],
  ['wait', 'lifecycle hook: wait for the sidecar to be ready, or drain and wait for the app to stop'],
  ['help', 'show this help'],
];

export function topHelp(): string {
  const w = Math.max(...COMMANDS.map(([c]) => c.length));
  return [
    'Usage: pilotfish <command> [flags]',
    '',
    'Pilotfish is a service-mesh sidecar proxy configured by Envoy v3 resources.',
    '',
    'Commands:',
    ...COMMANDS.map(([c, d]) => `  ${c.padEnd(w)}  ${d}`),
    '',
    'Envoy-style invocations without a command (pilotfish -c envoy.yaml ...) run `proxy`.',
    '',
  ].join('\n');
}

/** Runs the CLI; resolves with the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === 'help' || cmd === '--help' || cmd === '-h') {
    if (cmd === 'help' && rest[0] === 'proxy') return runProxyCommand(['--help']);
    if (cmd === 'help' && rest[0] === 'control-plane') return runControlPlane(['--help']);
    if (cmd === 'help' && rest[0] === 'sidecar') return (await import('../sidecar/sidecar-command.ts')).runSidecar(['--help']);
    if (cmd === 'help' && rest[0] === 'iptables') return (await import('../interception/iptables-command.ts')).runIptablesCommand(['--help']);
    process.stdout.write(topHelp());
    return 0;
  }
  if (cmd === undefined) {
    process.stderr.write(topHelp());
    return 2;
  }
  if (cmd === '--version' || cmd === 'version') {
    process.stdout.write(`pilotfish version ${packageVersion()}\n`);
    return 0;
  }
  if (cmd === 'proxy') return runProxyCommand(rest);
  if (cmd === 'sidecar') return (await import('../sidecar/sidecar-command.ts')).runSidecar(rest);
  if (cmd === 'control-plane') return runControlPlane(rest);
  if (cmd === 'inject') return (await import('../inject/inject-command.ts')).runInjectCommand(rest);
  if (cmd === 'wait') return (await import('../inject/wait-command.ts')).runWaitCommand(rest);
  if (cmd === 'iptables') return (await import('../interception/iptables-command.ts')).runIptablesCommand(rest);
  if (cmd.startsWith('-')) return runProxyCommand(argv);
  process.stderr.write(`pilotfish: unknown command "${cmd}" (see pilotfish --help)\n`);
  return 2;
}

async function runProxyCommand(argv: readonly string[]): Promise<number> {
  const { runProxy } = await import('./proxy-command.ts');
  return runProxy(argv);
}

/** The control plane lives in xds/ (loaded only for this command). */
async function runControlPlane(argv: readonly string[]): Promise<number> {
  const { runControlPlaneCommand } = await import('../../xds/control-plane.ts');
  return runControlPlaneCommand([...argv]);
}
