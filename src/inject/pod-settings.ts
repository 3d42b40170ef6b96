// Reads and validates a pod's injection annotations (opt-out, traffic include/exclude lists, proxy resources, lifecycle mode).
import { parseCidr, parsePortList } from '../interception/addresses.ts';
import { ANNOTATIONS } from './names.ts';
import type { InjectOptions, PodSettings } from './templates.ts';

export class InjectError extends Error {}

const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;

/** The same parser `pilotfish iptables` runs on these values, so a pod the injector accepts is one its init container accepts. */
function ports(anns: Record<string, string>, key: string): number[] {
  const v = anns[key];
  if (v === undefined || v.trim() === '') return [];
  const r = parsePortList(`annotation ${key}`, v);
  if (typeof r === 'string') throw new InjectError(r);
  return r;
}

/** '*' or a port list, as istio-iptables' -b takes it. */
function portsOrStar(anns: Record<string, string>, key: string): string {
  const v = anns[key]?.trim();
  if (v === undefined || v === '*') return '*';
  return ports(anns, key).join(',');
}

function cidrs(anns: Record<string, string>, key: string): string[] {
  const v = anns[key];
  if (v === undefined || v.trim() === '') return [];
  return v.split(',').map((x) => x.trim()).filter((t) => t !== '').map((t) => {
    if (parseCidr(t) === null) throw new InjectError(`annotation ${key}: "${t}" is not an IP range (CIDR like 10.0.0.0/8)`);
    return t;
  });
}

function quantity(anns: Record<string, string>, key: string, fallback: string): string {
  const v = anns[key];
  if (v === undefined) return fallback;
  if (!QUANTITY.test(v.trim())) throw new InjectError(`annotation ${key}: "${v}" is not a Kubernetes quantity (e.g. 100m, 128Mi)`);
  return v.trim();
}

function bool(anns: Record<string, string>, key: string, fallback: boolean): boolean {
  const v = anns[key];
  if (v === undefined) return fallback;
  const t = v.trim().toLowerCase();
  if (t === 'true') return true;
  if (t === 'false') return false;
  throw new InjectError(`annotation ${key}: "${v}" must be "true" or "false"`);
}

/** Whether the pod opted out (annotation, else label, `sidecar.pilotfish.io/inject: "false"`). */
export function optedOut(anns: Record<string, string>, labels: Record<string, string>): boolean {
  const v = anns[ANNOTATIONS.inject] ?? labels[ANNOTATIONS.inject];
  return v !== undefined && v.trim().toLowerCase() === 'false';
}

export function podSettings(anns: Record<string, string>, o: InjectOptions): PodSettings {
  const outRanges = anns[ANNOTATIONS.includeOutboundIPRanges]?.trim();
  return {
    native: bool(anns, ANNOTATIONS.nativeSidecar, o.nativeSidecar),
    rewriteProbes: bool(anns, ANNOTATIONS.rewriteProbes, true),
    includeInboundPorts: portsOrStar(anns, ANNOTATIONS.includeInboundPorts),
    excludeInboundPorts: ports(anns, ANNOTATIONS.excludeInboundPorts),
    includeOutboundPorts: ports(anns, ANNOTATIONS.includeOutboundPorts),
    excludeOutboundPorts: ports(anns, ANNOTATIONS.excludeOutboundPorts),
    includeOutboundIPRanges: outRanges === undefined || outRanges === '*' ? '*' : cidrs(anns, ANNOTATIONS.includeOutboundIPRanges).join(','),
    excludeOutboundIPRanges: cidrs(anns, ANNOTATIONS.excludeOutboundIPRanges),
    requests: { cpu: quantity(anns, ANNOTATIONS.proxyCPU, '100m'), memory: quantity(anns, ANNOTATIONS.proxyMemory, '128Mi') },
    limits: { cpu: quantity(anns, ANNOTATIONS.proxyCPULimit, '2'), memory: quantity(anns, ANNOTATIONS.proxyMemoryLimit, '1Gi') },
  };
}
