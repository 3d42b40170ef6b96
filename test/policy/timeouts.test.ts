// Tests the timeout rules: grpc-timeout parsing, which stream duration and idle timeout apply (Envoy's precedence), and the idle timer.
import assert from 'node:assert/strict';
import { describe, mock, test } from 'node:test';
import { IdleTimer, parseGrpcTimeout, streamDurationMs, streamIdleTimeoutMs, type StreamDurationRoute } from '../../src/policy/timeouts.ts';
import { maxDurationTimeout, streamIdleTimeout, requestTimeout, timeoutStatus, upstreamMaxStreamDuration } from '../../src/http/error-response.ts';

describe('parseGrpcTimeout', () => {
  const cases: [string | string[] | undefined, number | null][] = [
    ['1H', 3_600_000],
    ['2M', 120_000],
    ['3S', 3000],
    ['250m', 250],
    ['1500u', 2], // 1.5 ms rounds up
    ['1n', 1],
    ['0m', 0],
    ['99999999S', 99_999_999_000],
    [' 5S ', 5000],
    ['123456789S', null], // at most 8 digits
    ['5s', null], // units are case-sensitive: "s" is not a unit
    ['5', null],
    ['S', null],
    ['-1S', null],
    ['1.5S', null],
    ['', null],
    [undefined, null],
    [['1S', '2S'], null],
  ];
  for (const [input, expected] of cases) {
    test(`${JSON.stringify(input)} → ${expected}`, () => assert.equal(parseGrpcTimeout(input), expected));
  }
});

describe('streamDurationMs (Envoy refreshDurationTimeout precedence)', () => {
  const route = (maxStreamDurationMs: number | null, grpcTimeoutHeaderMaxMs: number | null): StreamDurationRoute => ({ maxStreamDurationMs, grpcTimeoutHeaderMaxMs });
  const cases: [string, StreamDurationRoute, number | undefined, number | null, number | null][] = [
    ['nothing configured', route(null, null), undefined, null, null],
    ['the connection manager max_stream_duration applies to routes without their own', route(null, null), 30_000, null, 30_000],
    ['the route max_stream_duration wins over the connection manager', route(5000, null), 30_000, null, 5000],
    ['route max_stream_duration 0 disables the connection manager one', route(0, null), 30_000, null, null],
    ['grpc-timeout is ignored without grpc_timeout_header_max', route(5000, null), undefined, 1000, 5000],
    ['grpc-timeout below the cap is used', route(5000, 3000), undefined, 1000, 1000],
    ['grpc-timeout above the cap is capped', route(5000, 3000), undefined, 10_000, 3000],
    ['grpc_timeout_header_max 0: grpc-timeout uncapped, even above max_stream_duration', route(5000, 0), undefined, 60_000, 60_000],
    ['grpc_timeout_header_max set but no grpc-timeout: max_stream_duration applies', route(5000, 3000), undefined, null, 5000],
    ['grpc_timeout_header_max set, no header, no route duration: connection manager one', route(null, 3000), 7000, null, 7000],
    ['grpc-timeout 0 means already expired', route(null, 3000), undefined, 0, 0],
  ];
  for (const [name, r, hcm, grpc, expected] of cases) test(name, () => assert.equal(streamDurationMs(r, hcm, grpc), expected));
});

test('streamIdleTimeoutMs: the route idle_timeout overrides, 0 disables, absent uses the connection manager', () => {
  assert.equal(streamIdleTimeoutMs(null, 300_000), 300_000);
  assert.equal(streamIdleTimeoutMs(2000, 300_000), 2000);
  assert.equal(streamIdleTimeoutMs(0, 300_000), 0);
  assert.equal(streamIdleTimeoutMs(null, 0), 0);
});

test('timeout replies: 504 once the request was received, 408 while it was still arriving; flags and details as Envoy', () => {
  assert.equal(timeoutStatus(true), 504);
  assert.equal(timeoutStatus(false), 408);
  assert.deepEqual(streamIdleTimeout(false), { status: 408, flag: 'SI', body: 'stream timeout', details: 'stream_idle_timeout' });
  assert.equal(streamIdleTimeout(true).status, 504);
  assert.deepEqual(requestTimeout(false), { status: 408, flag: null, body: 'request timeout', details: 'request_overall_timeout' });
  const d = maxDurationTimeout(true);
  assert.equal(d.status, 504);
  assert.equal(d.grpcStatus, 4, 'gRPC callers get DEADLINE_EXCEEDED');
  assert.equal(d.details, 'max_duration_timeout');
  assert.equal(upstreamMaxStreamDuration(false).flag, 'UMSDR');
  assert.equal(upstreamMaxStreamDuration(false).status, 408);
});

describe('IdleTimer', () => {
  test('fires after the idle time; touches push it back; stop() cancels', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    let clock = 0;
    let fired = 0;
    const timer = new IdleTimer(100, () => fired++, () => clock);
    const advance = (ms: number) => { clock += ms; t.mock.timers.tick(ms); };
    advance(60);
    timer.touch(); // activity at 60
    advance(60); // 120: the first check finds 60 ms of idleness and re-arms for 40
    assert.equal(fired, 0);
    advance(39);
    assert.equal(fired, 0);
    advance(1); // 160: 100 ms since the touch
    assert.equal(fired, 1);
    advance(1000);
    assert.equal(fired, 1, 'fires once');

    const second = new IdleTimer(50, () => fired++, () => clock);
    second.stop();
    advance(100);
    assert.equal(fired, 1);
  });

  test('a steady stream of touches never fires', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    let clock = 0;
    const onIdle = mock.fn();
    const timer = new IdleTimer(30, onIdle, () => clock);
    for (let i = 0; i < 100; i++) { clock += 10; t.mock.timers.tick(10); timer.touch(); }
    assert.equal(onIdle.mock.callCount(), 0);
    timer.stop();
  });
});
