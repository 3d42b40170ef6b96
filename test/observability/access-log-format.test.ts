// Tests of Envoy format strings: command operators, "-" for missing values, typed JSON, the default JSON line, errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  compileJsonFormat, compileTextFormat, DEFAULT_JSON_FORMAT, DEFAULT_TEXT_FORMAT, validateFormat,
} from '../../src/observability/access-log-format.ts';
import type { AccessLogEntry } from '../../src/observability/types.ts';

const START = Date.UTC(2024, 2, 5, 7, 8, 9, 123);

function entry(over: Partial<AccessLogEntry> = {}): AccessLogEntry {
  return {
    startTime: START, method: 'GET', path: '/api/v1?x=1', protocol: 'HTTP/1.1', responseCode: 200, responseFlags: '-',
    bytesReceived: 12, bytesSent: 345, durationMs: 17.8, upstreamServiceTimeMs: 9, upstreamHost: '10.0.0.2:8080',
    upstreamCluster: 'backend', upstreamLocalAddress: '10.0.0.1:40000', downstreamRemoteAddress: '192.168.1.5:51000',
    downstreamLocalAddress: '10.0.0.1:10000', requestId: 'req-1', authority: 'example.com', userAgent: 'curl/8',
    forwardedFor: null, routeName: 'r1',
    requestHeaders: { 'x-custom': 'hello world', 'x-multi': ['a', 'b'], 'user-agent': 'curl/8' },
    responseHeaders: { 'content-type': 'text/plain', 'x-envoy-upstream-service-time': '9' },
    responseTrailers: { 'grpc-status': '0' },
    responseCodeDetails: 'via_upstream', connectionTerminationDetails: null,
    ...over,
  };
}

test('text format substitutes command operators and "-" for missing values', () => {
  const f = compileTextFormat(
    '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% ' +
      '%BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" ' +
      '"%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"\n',
  );
  assert.equal(
    f(entry()),
    '[2024-03-05T07:08:09.123Z] "GET /api/v1?x=1 HTTP/1.1" 200 - 12 345 17 9 "-" "curl/8" "req-1" "example.com" "10.0.0.2:8080"\n',
  );
  assert.equal(DEFAULT_TEXT_FORMAT.endsWith('\n'), true);
});

test('address, route, details, trailer, header alternatives and truncation operators', () => {
  const e = entry();
  const cases: [string, string][] = [
    ['%DOWNSTREAM_REMOTE_ADDRESS%', '192.168.1.5:51000'],
    ['%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%', '192.168.1.5'],
    ['%DOWNSTREAM_LOCAL_ADDRESS%', '10.0.0.1:10000'],
    ['%DOWNSTREAM_LOCAL_PORT%', '10000'],
    ['%UPSTREAM_LOCAL_ADDRESS%', '10.0.0.1:40000'],
    ['%UPSTREAM_CLUSTER%', 'backend'],
    ['%ROUTE_NAME%', 'r1'],
    ['%RESPONSE_CODE_DETAILS%', 'via_upstream'],
    ['%CONNECTION_TERMINATION_DETAILS%', '-'],
    ['%REQUEST_DURATION%', '-'],
    ['%TRAILER(GRPC-STATUS)%', '0'],
    ['%RESP(CONTENT-TYPE)%', 'text/plain'],
    ['%RESP(X-MISSING)%', '-'],
    ['%REQ(X-NOPE?X-CUSTOM)%', 'hello world'],
    ['%REQ(X-CUSTOM):5%', 'hello'],
    ['%REQ(X-MULTI)%', 'a,b'],
    ['%REQ_WITHOUT_QUERY(:PATH)%', '/api/v1'],
    ['%START_TIME(%Y/%m/%d %H:%M:%S.%3f %s)%', `2024/03/05 07:08:09.123 ${Math.floor(START / 1000)}`],
    ['%START_TIME(%s.%6f)%', `${Math.floor(START / 1000)}.123000`],
    ['100%% sure', '100% sure'],
    ['%RESPONSE_FLAGS_LONG%', '-'],
  ];
  for (const [fmt, want] of cases) assert.equal(compileTextFormat(fmt)(e), want, fmt);
  assert.equal(compileTextFormat('%RESPONSE_FLAGS_LONG%')(entry({ responseFlags: 'UF,URX' })), 'UpstreamConnectionFailure,UpstreamRetryLimitExceeded');
  assert.equal(compileTextFormat('%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%')(entry({ downstreamRemoteAddress: '[::1]:5000' })), '::1');
});

test('TCP entries (no HTTP fields) render "-"', () => {
  const e = entry({ method: null, path: null, protocol: null, responseCode: 0, requestHeaders: null, responseHeaders: null, responseTrailers: null, requestId: null, authority: null, userAgent: null });
  assert.equal(compileTextFormat('%REQ(:METHOD)% %PROTOCOL% %RESPONSE_CODE% %REQ(:AUTHORITY)% %RESP(X)%')(e), '- - 0 - -');
});

test('json_format keeps types of single operators, null for missing, nesting and constants', () => {
  const f = compileJsonFormat({
    code: '%RESPONSE_CODE%',
    bytes: '%BYTES_SENT%',
    text: 'code=%RESPONSE_CODE% xff=%REQ(X-FORWARDED-FOR)%',
    missing: '%REQ(X-FORWARDED-FOR)%',
    nested: { host: '%UPSTREAM_HOST%', n: 5, flag: true },
  });
  const line = f(entry());
  assert.ok(line.endsWith('\n'));
  assert.deepEqual(JSON.parse(line), {
    code: 200, bytes: 345, text: 'code=200 xff=-', missing: null, nested: { host: '10.0.0.2:8080', n: 5, flag: true },
  });
});

test('the default format is one JSON line with Envoy default fields', () => {
  const obj = JSON.parse(compileJsonFormat(DEFAULT_JSON_FORMAT)(entry({ forwardedFor: '1.2.3.4' })));
  assert.equal(obj.start_time, '2024-03-05T07:08:09.123Z');
  assert.equal(obj.method, 'GET');
  assert.equal(obj.path, '/api/v1?x=1');
  assert.equal(obj.protocol, 'HTTP/1.1');
  assert.equal(obj.response_code, 200);
  assert.equal(obj.response_flags, '-');
  assert.equal(obj.bytes_received, 12);
  assert.equal(obj.bytes_sent, 345);
  assert.equal(obj.duration, 17);
  assert.equal(obj.upstream_service_time, '9');
  assert.equal(obj.x_forwarded_for, '1.2.3.4');
  assert.equal(obj.user_agent, 'curl/8');
  assert.equal(obj.request_id, 'req-1');
  assert.equal(obj.authority, 'example.com');
  assert.equal(obj.upstream_host, '10.0.0.2:8080');
  assert.equal(obj.upstream_cluster, 'backend');
  assert.equal(obj.route_name, 'r1');
  assert.equal(obj.requested_server_name, null);
});

test('invalid formats are rejected with Envoy wording', () => {
  assert.match(validateFormat('%NOT_A_THING%') ?? '', /Not supported field in StreamInfo: NOT_A_THING/);
  assert.match(validateFormat('50% off') ?? '', /Couldn't find valid command at position 2/);
  assert.match(validateFormat('%REQ()%') ?? '', /Invalid header configuration/);
  assert.match(validateFormat('%REQ(A?B?C)%') ?? '', /More than 1 alternative/);
  assert.equal(validateFormat('%START_TIME% %REQ(:PATH):10%\n'), null);
  assert.throws(() => compileJsonFormat({ a: '%BOGUS%' }), /BOGUS/);
});
