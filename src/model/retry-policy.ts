// Compiles an Envoy RetryPolicy (virtual host or route level).
import { RETRY_BACK_OFF, RETRY_HOST_PREDICATE, RETRY_POLICY } from './fields-route.ts';
import { compileHeaderMatchers } from './matchers.ts';
import type { Msg } from './proto-message.ts';
import { messageNameOf, typeUrlOf } from './typed-config.ts';
import type { RetryPolicy } from './types.ts';

/** Values Envoy accepts in retry_on (HTTP and gRPC conditions). */
export const RETRY_ON_VALUES: ReadonlySet<string> = new Set([
  '5xx',
  'gateway-error',
  'reset',
  'reset-before-request',
  'connect-failure',
  'envoy-ratelimited',
  'retriable-4xx',
  'refused-stream',
  'retriable-status-codes',
  'retriable-headers',
  'http3-post-connect-failure',
  'cancelled',
  'deadline-exceeded',
  'internal',
  'resource-exhausted',
  'unavailable',
]);

const PREVIOUS_HOSTS_NAME = 'envoy.retry_host_predicates.previous_hosts';
const PREVIOUS_HOSTS_TYPE = 'envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate';

const DEFAULT_BACK_OFF_BASE_MS = 25;

/** The RetryPolicy in `parent.<name>`, or null when absent. */
export function compileRetryPolicy(parent: Msg, name = 'retry_policy'): RetryPolicy | null {
  const m = parent.msg(name, RETRY_POLICY);
  if (!m) return null;
  const retryOn: string[] = [];
  for (const raw of m.str('retry_on').split(',')) {
    const v = raw.trim();
    if (v === '') continue;
    if (RETRY_ON_VALUES.has(v)) retryOn.push(v);
    else m.error('retry_on', `unknown retry condition ${JSON.stringify(v)}`);
  }
  let backOffBaseMs = DEFAULT_BACK_OFF_BASE_MS;
  let backOffMaxMs = DEFAULT_BACK_OFF_BASE_MS * 10;
  const b = m.msg('retry_back_off', RETRY_BACK_OFF);
  if (b) {
    if (!b.has('base_interval')) b.error('base_interval', 'is required');
    backOffBaseMs = b.durationMs('base_interval', DEFAULT_BACK_OFF_BASE_MS);
    if (backOffBaseMs <= 0) b.error('base_interval', 'must be greater than 0');
    backOffMaxMs = b.durationMs('max_interval', backOffBaseMs * 10);
    if (backOffMaxMs < backOffBaseMs) b.error('max_interval', `must not be below base_interval (${backOffBaseMs}ms)`);
  }
  let previousHostsPredicate = false;
  for (const p of m.msgList('retry_host_predicate', RETRY_HOST_PREDICATE)) {
    const url = typeUrlOf(p.get('typed_config'));
    const isPreviousHosts = url === null ? p.str('name') === PREVIOUS_HOSTS_NAME : messageNameOf(url) === PREVIOUS_HOSTS_TYPE;
    if (isPreviousHosts) previousHostsPredicate = true;
    else p.error(url === null ? 'name' : 'typed_config.@type', `retry host predicate ${url ?? p.str('name')} is not supported yet`);
  }
  const retriableStatusCodes: number[] = [];
  for (const item of m.list('retriable_status_codes')) {
    if (typeof item.value === 'number' && Number.isInteger(item.value) && item.value >= 100 && item.value <= 599) {
      retriableStatusCodes.push(item.value);
    } else {
      m.ctx.error(item.path, `expected an HTTP status code, got ${JSON.stringify(item.value)}`);
    }
  }
  return {
    retryOn,
    numRetries: m.uint('num_retries', 1),
    perTryTimeoutMs: m.durationMs('per_try_timeout', 0),
    backOffBaseMs,
    backOffMaxMs,
    retriableStatusCodes,
    retriableHeaders: compileHeaderMatchers(m, 'retriable_headers'),
    previousHostsPredicate,
    hostSelectionRetryMaxAttempts: m.int('host_selection_retry_max_attempts', 1),
  };
}
