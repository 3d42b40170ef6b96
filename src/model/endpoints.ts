// Compiles ClusterLoadAssignment (inline load_assignment or EDS resources) into localities and endpoints.
import { compileAddress } from './address.ts';
import type { CompileContext } from './compile-context.ts';
import { CLA_POLICY, CLUSTER_LOAD_ASSIGNMENT, ENDPOINT, LB_ENDPOINT, LOCALITY, LOCALITY_LB_ENDPOINTS } from './fields-cluster.ts';
import { Msg } from './proto-message.ts';
import type { EndpointConfig, LoadAssignment, LocalityEndpoints } from './types.ts';

const HEALTH_STATUSES = ['UNKNOWN', 'HEALTHY', 'UNHEALTHY', 'DRAINING', 'TIMEOUT', 'DEGRADED'] as const;
const MAX_PRIORITY = 128;

export interface EndpointRules {
  /** STATIC and EDS endpoints must be IP addresses; DNS clusters take hostnames. */
  readonly requireIp: boolean;
}

function compileLbEndpoint(e: Msg, rules: EndpointRules): EndpointConfig | null {
  if (!e.has('endpoint')) {
    e.error('endpoint', 'is required');
    return null;
  }
  const ep = e.msg('endpoint', ENDPOINT);
  if (!ep) return null;
  if (!ep.has('address')) {
    ep.error('address', 'is required');
    return null;
  }
  const address = compileAddress(e.ctx, ep.at('address'), ep.get('address'), { requireIp: rules.requireIp, allowPortZero: false });
  const weight = e.uint('load_balancing_weight', 1, 1);
  const healthStatus = e.enumOf('health_status', HEALTH_STATUSES, 'UNKNOWN');
  return address ? { address, hostname: ep.optStr('hostname'), weight, healthStatus } : null;
}

function compileLocality(l: Msg, rules: EndpointRules): LocalityEndpoints {
  const loc = l.msg('locality', LOCALITY);
  const lbEndpoints: EndpointConfig[] = [];
  for (const e of l.msgList('lb_endpoints', LB_ENDPOINT)) {
    const c = compileLbEndpoint(e, rules);
    if (c) lbEndpoints.push(c);
  }
  return {
    locality: loc ? { region: loc.str('region'), zone: loc.str('zone'), subZone: loc.str('sub_zone') } : null,
    priority: l.uint('priority', 0, 0, MAX_PRIORITY),
    loadBalancingWeight: l.optUint('load_balancing_weight', 1),
    lbEndpoints,
  };
}

/** An opened ClusterLoadAssignment; null after reporting errors. */
export function compileLoadAssignmentMsg(m: Msg, rules: EndpointRules): LoadAssignment | null {
  const before = m.ctx.errors.length;
  const clusterName = m.requiredStr('cluster_name');
  m.msg('policy', CLA_POLICY);
  const endpoints = m.msgList('endpoints', LOCALITY_LB_ENDPOINTS).map((l) => compileLocality(l, rules));
  return m.ctx.errors.length > before ? null : { clusterName, endpoints };
}

/** A ClusterLoadAssignment resource (EDS) at the root of `ctx`'s resource. */
export function compileLoadAssignmentValue(ctx: CompileContext, value: unknown): LoadAssignment | null {
  const m = Msg.open(ctx, '', value, CLUSTER_LOAD_ASSIGNMENT);
  return m ? compileLoadAssignmentMsg(m, { requireIp: true }) : null;
}
