// Reads a connecting node's identity from its xDS Node (id, cluster, metadata.pilotfish), the contract between sidecars and the control plane.
import { isIP } from 'node:net';

/**
 * Node metadata shape (Node.metadata, a google.protobuf.Struct):
 *
 *   { "pilotfish": {
 *       "service": "orders", "namespace": "default", "serviceAccount": "orders",
 *       "address": "127.0.0.1",                 // where other sidecars reach this one (default 127.0.0.1)
 *       "ports": { "http": 8081 },               // service port name -> the app's local port
 *       "inboundPort": 15006,                    // or { "http": 15006 }: inbound listener port(s); absent = no inbound listener
 *       "outboundPort": 15001,                   // outbound HTTP listener (default 15001; 0 = none)
 *       "dependencies": ["payments", "shop/*"],  // services it calls ("name", "ns/name", "ns/*"); absent = all
 *       "gateway": "public",                     // this node is the Gateway default/public (north-south)
 *       "gatewayPorts": { "80": 18080 },         // Gateway listener port -> port to bind (local mode)
 *       "tracing": { "sampling": 1.0 },          // HCM tracing on its listeners, % of new traces (Istio's ProxyConfig tracing)
 *       "proxyless": true,                       // a gRPC client without a sidecar (also inferred from a "gRPC…" user agent)
 *       "interception": "iptables"               // traffic is captured (pilotfish iptables): virtualOutbound/virtualInbound listeners
 *   } }
 */
export interface NodeIdentity {
  readonly id: string;
  readonly cluster: string;
  readonly service: string | null;
  readonly namespace: string;
  readonly serviceAccount: string | null;
  readonly address: string;
  readonly ports: Readonly<Record<string, number>>;
  /** Inbound listener port per service port name; "*" applies to the only/first port. */
  readonly inboundPorts: Readonly<Record<string, number>>;
  readonly outboundPort: number;
  readonly dependencies: readonly string[] | null;
  readonly gateway: string | null;
  readonly gatewayPorts: Readonly<Record<string, number>>;
  /** Tracing on this node's listeners (percent of new traces sampled), or null for none. */
  readonly tracing: { readonly samplingPercent: number } | null;
  /**
   * A proxyless gRPC client (user agent "gRPC …" or metadata `proxyless: true`): it has no identity agent, so it gets
   * plaintext clusters even where the mesh runs mTLS.
   */
  readonly proxyless: boolean;
  /**
   * "iptables": the pod's traffic is redirected to the sidecar (xds/translate/capture.ts): listeners virtualOutbound on
   * 0.0.0.0:<outboundPort, default 15001> and virtualInbound on 0.0.0.0:<inboundPort if a number, default 15006>, and
   * other sidecars dial this workload at its app ports. "none" (default): explicit inbound/outbound listeners.
   */
  readonly interception: 'iptables' | 'none';
  /** Problems found in the metadata (shown in /debug/syncz; the node is served with what could be read). */
  readonly problems: readonly string[];
}

/** Converts a google.protobuf.Struct as decoded by proto-loader (keepCase, oneofs) to plain JSON. */
export function structToJson(s: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const fields = (s as { fields?: Record<string, unknown> } | null | undefined)?.fields;
  if (!fields) return out;
  for (const [k, v] of Object.entries(fields)) out[k] = valueToJson(v);
  return out;
}

function valueToJson(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  // protobufjs defines google.protobuf.Value with camelCase fields even under keepCase; accept both spellings.
  const o = v as Record<string, unknown>;
  const kind = typeof o.kind === 'string' ? o.kind : Object.keys(o).find((k) => o[k] !== undefined && o[k] !== null && k !== 'kind');
  const field = (camel: string, snake: string) => o[camel] ?? o[snake];
  switch (kind) {
    case 'nullValue': case 'null_value': return null;
    case 'numberValue': case 'number_value': return Number(field('numberValue', 'number_value'));
    case 'stringValue': case 'string_value': return field('stringValue', 'string_value');
    case 'boolValue': case 'bool_value': return field('boolValue', 'bool_value');
    case 'structValue': case 'struct_value': return structToJson(field('structValue', 'struct_value'));
    case 'listValue': case 'list_value':
      return ((field('listValue', 'list_value') as { values?: unknown[] } | null)?.values ?? []).map(valueToJson);
    default: return null;
  }
}

function portNumber(v: unknown): number | null {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65535 ? v : null;
}

function portMap(v: unknown, what: string, problems: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  if (v === undefined || v === null) return out;
  if (typeof v !== 'object' || Array.isArray(v)) {
    problems.push(`${what}: expected a mapping of name to port`);
    return out;
  }
  for (const [k, p] of Object.entries(v)) {
    const n = portNumber(p);
    if (n === null) problems.push(`${what}.${k}: expected a port number, got ${JSON.stringify(p)}`);
    else out[k] = n;
  }
  return out;
}

function str(m: Record<string, unknown>, k: string, problems: string[]): string | null {
  const v = m[k];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string' || v === '') {
    problems.push(`pilotfish.${k}: expected a non-empty string`);
    return null;
  }
  return v;
}

/** `tracing: { sampling: <percent> }` (default 1 %, as Istio); `true` is the default sampling, absent/false none. */
function readTracing(v: unknown, problems: string[]): NodeIdentity['tracing'] {
  if (v === undefined || v === null || v === false) return null;
  if (v === true) return { samplingPercent: 1 };
  const s = typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>).sampling : undefined;
  if (typeof v !== 'object' || Array.isArray(v) || (s !== undefined && (typeof s !== 'number' || !(s >= 0 && s <= 100)))) {
    problems.push('pilotfish.tracing: expected { sampling: <percent 0-100> }');
    return null;
  }
  return { samplingPercent: s === undefined ? 1 : s };
}

/** Builds the identity from Node fields; `metadata` is already plain JSON (see structToJson). */
export function readNodeIdentity(id: string, cluster: string, metadata: Record<string, unknown>, userAgent = ''): NodeIdentity {
  const problems: string[] = [];
  const raw = metadata.pilotfish;
  const m = raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
  if (raw !== undefined && m !== raw) problems.push('pilotfish: expected a mapping');
  const address = str(m, 'address', problems) ?? '127.0.0.1';
  if (isIP(address) === 0) problems.push(`pilotfish.address: "${address}" is not an IP address`);
  let inboundPorts: Record<string, number> = {};
  if (typeof m.inboundPort === 'number') {
    const n = portNumber(m.inboundPort);
    if (n === null) problems.push('pilotfish.inboundPort: expected a port number');
    else inboundPorts = { '*': n };
  } else {
    inboundPorts = portMap(m.inboundPort, 'pilotfish.inboundPort', problems);
  }
  let outboundPort = 15001;
  if (m.outboundPort !== undefined) {
    if (m.outboundPort === 0) outboundPort = 0;
    else {
      const n = portNumber(m.outboundPort);
      if (n === null) problems.push('pilotfish.outboundPort: expected a port number or 0');
      else outboundPort = n;
    }
  }
  let dependencies: string[] | null = null;
  if (Array.isArray(m.dependencies)) dependencies = m.dependencies.filter((d): d is string => typeof d === 'string');
  else if (m.dependencies !== undefined) problems.push('pilotfish.dependencies: expected a list of service names');
  const service = str(m, 'service', problems);
  let interception: NodeIdentity['interception'] = 'none';
  if (m.interception === 'iptables' || m.interception === 'none') interception = m.interception;
  else if (m.interception !== undefined && m.interception !== null) {
    problems.push(`pilotfish.interception: expected "iptables" or "none", got ${JSON.stringify(m.interception)}`);
  }
  if (interception === 'iptables' && m.gateway !== undefined) problems.push('pilotfish.interception: ignored for a gateway node');
  return {
    id,
    cluster,
    service,
    namespace: str(m, 'namespace', problems) ?? 'default',
    serviceAccount: str(m, 'serviceAccount', problems),
    address: isIP(address) === 0 ? '127.0.0.1' : address,
    ports: portMap(m.ports, 'pilotfish.ports', problems),
    inboundPorts,
    outboundPort,
    dependencies,
    gateway: str(m, 'gateway', problems),
    gatewayPorts: portMap(m.gatewayPorts, 'pilotfish.gatewayPorts', problems),
    tracing: readTracing(m.tracing, problems),
    proxyless: m.proxyless === true || /^grpc\b/i.test(userAgent),
    interception: m.gateway !== undefined ? 'none' : interception,
    problems,
  };
}
