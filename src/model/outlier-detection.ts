// Compiles a cluster's outlier_detection (Envoy's OutlierDetection) and common_lb_config.healthy_panic_threshold.
import { COMMON_LB_CONFIG, OUTLIER_DETECTION, PERCENT } from './fields-health.ts';
import { describe, type Msg } from './proto-message.ts';
import { unwrap } from './proto-values.ts';
import type { OutlierDetectionConfig } from './types.ts';

/** Envoy's defaults for every OutlierDetection field (max_ejection_time depends on base_ejection_time). */
export const OUTLIER_DEFAULTS: OutlierDetectionConfig = {
  consecutive5xx: 5,
  consecutiveGatewayFailure: 5,
  consecutiveLocalOriginFailure: 5,
  intervalMs: 10_000,
  baseEjectionTimeMs: 30_000,
  maxEjectionTimeMs: 300_000,
  maxEjectionTimeJitterMs: 0,
  maxEjectionPercent: 10,
  alwaysEjectOneHost: false,
  enforcingConsecutive5xx: 100,
  enforcingConsecutiveGatewayFailure: 0,
  enforcingConsecutiveLocalOriginFailure: 100,
  enforcingSuccessRate: 100,
  enforcingLocalOriginSuccessRate: 100,
  successRateMinimumHosts: 5,
  successRateRequestVolume: 100,
  successRateStdevFactor: 1900,
  failurePercentageThreshold: 85,
  enforcingFailurePercentage: 0,
  enforcingFailurePercentageLocalOrigin: 0,
  failurePercentageMinimumHosts: 5,
  failurePercentageRequestVolume: 50,
  splitExternalLocalOriginErrors: false,
  successfulActiveHealthCheckUnejectHost: true,
};

/** A positive duration field (Envoy's `gt: {}` rule), or `def` when absent. */
function positiveMs(m: Msg, name: string, def: number): number {
  const ms = m.durationMs(name, def);
  if (m.has(name) && ms <= 0) m.error(name, 'must be greater than 0');
  return ms;
}

/** The cluster's outlier_detection, or null when the field is absent. */
export function compileOutlierDetection(c: Msg): OutlierDetectionConfig | null {
  const m = c.msg('outlier_detection', OUTLIER_DETECTION);
  if (!m) return null;
  const d = OUTLIER_DEFAULTS;
  const pct = (name: string, def: number): number => m.uint(name, def, 0, 100);
  const baseEjectionTimeMs = positiveMs(m, 'base_ejection_time', d.baseEjectionTimeMs);
  const maxEjectionTimeMs = positiveMs(m, 'max_ejection_time', Math.max(d.maxEjectionTimeMs, baseEjectionTimeMs));
  if (maxEjectionTimeMs < baseEjectionTimeMs) m.error('max_ejection_time', `must not be smaller than base_ejection_time (${baseEjectionTimeMs} ms)`);
  return {
    consecutive5xx: m.uint('consecutive_5xx', d.consecutive5xx),
    consecutiveGatewayFailure: m.uint('consecutive_gateway_failure', d.consecutiveGatewayFailure),
    consecutiveLocalOriginFailure: m.uint('consecutive_local_origin_failure', d.consecutiveLocalOriginFailure),
    intervalMs: positiveMs(m, 'interval', d.intervalMs),
    baseEjectionTimeMs,
    maxEjectionTimeMs,
    maxEjectionTimeJitterMs: m.durationMs('max_ejection_time_jitter', d.maxEjectionTimeJitterMs),
    maxEjectionPercent: pct('max_ejection_percent', d.maxEjectionPercent),
    alwaysEjectOneHost: m.bool('always_eject_one_host', d.alwaysEjectOneHost),
    enforcingConsecutive5xx: pct('enforcing_consecutive_5xx', d.enforcingConsecutive5xx),
    enforcingConsecutiveGatewayFailure: pct('enforcing_consecutive_gateway_failure', d.enforcingConsecutiveGatewayFailure),
    enforcingConsecutiveLocalOriginFailure: pct('enforcing_consecutive_local_origin_failure', d.enforcingConsecutiveLocalOriginFailure),
    enforcingSuccessRate: pct('enforcing_success_rate', d.enforcingSuccessRate),
    enforcingLocalOriginSuccessRate: pct('enforcing_local_origin_success_rate', d.enforcingLocalOriginSuccessRate),
    successRateMinimumHosts: m.uint('success_rate_minimum_hosts', d.successRateMinimumHosts),
    successRateRequestVolume: m.uint('success_rate_request_volume', d.successRateRequestVolume),
    successRateStdevFactor: m.uint('success_rate_stdev_factor', d.successRateStdevFactor),
    failurePercentageThreshold: pct('failure_percentage_threshold', d.failurePercentageThreshold),
    enforcingFailurePercentage: pct('enforcing_failure_percentage', d.enforcingFailurePercentage),
    enforcingFailurePercentageLocalOrigin: pct('enforcing_failure_percentage_local_origin', d.enforcingFailurePercentageLocalOrigin),
    failurePercentageMinimumHosts: m.uint('failure_percentage_minimum_hosts', d.failurePercentageMinimumHosts),
    failurePercentageRequestVolume: m.uint('failure_percentage_request_volume', d.failurePercentageRequestVolume),
    splitExternalLocalOriginErrors: m.bool('split_external_local_origin_errors', d.splitExternalLocalOriginErrors),
    successfulActiveHealthCheckUnejectHost: m.bool('successful_active_health_check_uneject_host', d.successfulActiveHealthCheckUnejectHost),
  };
}

/** common_lb_config.healthy_panic_threshold.value in percent (0..100); Envoy's default is 50 when the field is absent. */
export function compileHealthyPanicThreshold(c: Msg): number {
  const lb = c.msg('common_lb_config', COMMON_LB_CONFIG);
  const p = lb?.msg('healthy_panic_threshold', PERCENT);
  if (!p) return 50;
  // A present Percent without value is 0 % (proto3), which turns panic mode off.
  const raw = unwrap(p.get('value')) ?? 0;
  const v = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    p.error('value', `expected a number, got ${describe(raw)}`);
    return 50;
  }
  if (v < 0 || v > 100) {
    p.error('value', `${v} is out of range [0, 100]`);
    return 50;
  }
  return v;
}
