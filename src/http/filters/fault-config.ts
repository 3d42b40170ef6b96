// Field tables and the compiler for envoy.extensions.filters.http.fault.v3.HTTPFault (filter level and per route).
import { compileHeaderMatchers } from '../../model/matchers.ts';
import type { Msg, MessageTable } from '../../model/proto-message.ts';
import type { FaultAbort, FaultDelay, FaultSettings } from '../../policy/fault.ts';
import { ZERO_PERCENT } from '../../policy/fractional-percent.ts';
import { emptyMessage, compileFractionalPercent } from './config-common.ts';

export const HTTP_FAULT: MessageTable = {
  message: 'envoy.extensions.filters.http.fault.v3.HTTPFault',
  fields: {
    delay: 'ok',
    abort: 'ok',
    upstream_cluster: 'ok',
    headers: 'ok',
    downstream_nodes: 'unsupported',
    max_active_faults: 'ok',
    response_rate_limit: 'unsupported',
    // No runtime layer: the configured values always apply, so the runtime key names change nothing.
    delay_percent_runtime: 'ignore',
    abort_percent_runtime: 'ignore',
    delay_duration_runtime: 'ignore',
    abort_http_status_runtime: 'ignore',
    max_active_faults_runtime: 'ignore',
    response_rate_limit_percent_runtime: 'ignore',
    abort_grpc_status_runtime: 'ignore',
    // Per-downstream-cluster stats (x-envoy-downstream-service-cluster) are not kept.
    disable_downstream_cluster_stats: 'ignore',
  },
};

export const FAULT_DELAY: MessageTable = {
  message: 'envoy.extensions.filters.common.fault.v3.FaultDelay',
  fields: { fixed_delay: 'ok', header_delay: 'ok', percentage: 'ok' },
};

export const FAULT_ABORT: MessageTable = {
  message: 'envoy.extensions.filters.http.fault.v3.FaultAbort',
  fields: { http_status: 'ok', grpc_status: 'ok', header_abort: 'ok', percentage: 'ok' },
};

const HEADER_DELAY = emptyMessage('envoy.extensions.filters.common.fault.v3.FaultDelay.HeaderDelay');
const HEADER_ABORT = emptyMessage('envoy.extensions.filters.http.fault.v3.FaultAbort.HeaderAbort');

function compileDelay(f: Msg): FaultDelay | null {
  const d = f.msg('delay', FAULT_DELAY);
  if (!d) return null;
  const percentage = compileFractionalPercent(d, 'percentage', ZERO_PERCENT);
  if (!d.has('percentage')) d.ctx.warn(d.at('percentage'), 'is not set: Envoy delays 0 % of requests');
  switch (d.oneOf(['fixed_delay', 'header_delay'], true)) {
    case 'fixed_delay': {
      const ms = d.optDurationMs('fixed_delay');
      if (ms === null) return null;
      if (ms <= 0) {
        d.error('fixed_delay', 'must be greater than 0s');
        return null;
      }
      return { kind: 'fixed', ms, percentage };
    }
    case 'header_delay':
      d.msg('header_delay', HEADER_DELAY);
      return { kind: 'header', percentage };
    default:
      return null;
  }
}

function compileAbort(f: Msg): FaultAbort | null {
  const a = f.msg('abort', FAULT_ABORT);
  if (!a) return null;
  const percentage = compileFractionalPercent(a, 'percentage', ZERO_PERCENT);
  if (!a.has('percentage')) a.ctx.warn(a.at('percentage'), 'is not set: Envoy aborts 0 % of requests');
  switch (a.oneOf(['http_status', 'grpc_status', 'header_abort'], true, 'http_status, grpc_status, header_abort')) {
    case 'http_status': {
      const status = a.optUint('http_status', 200, 599);
      return status === null ? null : { kind: 'http', status, percentage };
    }
    case 'grpc_status': {
      const grpcStatus = a.optUint('grpc_status');
      return grpcStatus === null ? null : { kind: 'grpc', grpcStatus, percentage };
    }
    case 'header_abort':
      a.msg('header_abort', HEADER_ABORT);
      return { kind: 'header', percentage };
    default:
      return null;
  }
}

/** An opened HTTPFault; null after reporting errors. */
export function compileFault(f: Msg): FaultSettings | null {
  const before = f.ctx.errors.length;
  const settings: FaultSettings = {
    delay: compileDelay(f),
    abort: compileAbort(f),
    headers: compileHeaderMatchers(f, 'headers'),
    upstreamCluster: f.optStr('upstream_cluster'),
    maxActiveFaults: f.optUint('max_active_faults'),
  };
  if (f.ctx.errors.length > before) return null;
  if (settings.delay === null && settings.abort === null) f.ctx.warn(f.path, 'neither delay nor abort is set: the fault filter does nothing');
  return settings;
}
