// Tests of access-log sinks: file lines, shared destinations, periodic and explicit flush, stdout at process exit.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { accessLogFilterAccepts, closeAccessLogs, createAccessLoggers, createLogger, flushAccessLogs, pinoLevel } from '../../src/observability/access-log.ts';
import type { AccessLogFilter } from '../../src/model/types.ts';
import type { AccessLogEntry } from '../../src/observability/types.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pilotfish-al-'));
after(async () => {
  await closeAccessLogs();
  fs.rmSync(dir, { recursive: true, force: true });
});

function entry(i: number): AccessLogEntry {
  return {
    startTime: Date.UTC(2024, 0, 1), method: 'GET', path: `/p/${i}`, protocol: 'HTTP/1.1', responseCode: 200, responseFlags: '-',
    bytesReceived: 0, bytesSent: i, durationMs: 1, upstreamServiceTimeMs: null, upstreamHost: null, upstreamCluster: null,
    upstreamLocalAddress: null, downstreamRemoteAddress: '127.0.0.1:1', downstreamLocalAddress: '127.0.0.1:2', requestId: null,
    authority: null, userAgent: null, forwardedFor: null, routeName: null, requestHeaders: {}, responseHeaders: {},
    responseTrailers: null, responseCodeDetails: null, connectionTerminationDetails: null,
  };
}

async function waitForLines(file: string, n: number): Promise<string[]> {
  for (;;) {
    const lines = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
    if (lines.length >= n) return lines;
    await new Promise((r) => setImmediate(r));
  }
}

test('file sinks write one line per entry; two loggers on one path share it; flush() writes everything', async () => {
  const file = path.join(dir, 'sub', 'access.log');
  const [text, json] = createAccessLoggers([
    { sink: 'file', path: file, textFormat: 'T %REQ(:PATH)% %BYTES_SENT%\n', jsonFormat: null },
    { sink: 'file', path: file, textFormat: null, jsonFormat: { p: '%REQ(:PATH)%', b: '%BYTES_SENT%' } },
  ]);
  for (let i = 0; i < 200; i++) { text.log(entry(i)); json.log(entry(i)); }
  await text.flush();
  await flushAccessLogs();
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
  assert.equal(lines.length, 400);
  assert.equal(lines[0], 'T /p/0 0');
  assert.deepEqual(JSON.parse(lines[1]), { p: '/p/0', b: 0 });
  assert.equal(lines[398], 'T /p/199 199');
});

test('buffered lines are written by the flush interval without an explicit flush', async () => {
  const file = path.join(dir, 'interval.log');
  const [l] = createAccessLoggers([{ sink: 'file', path: file, textFormat: null, jsonFormat: null }]);
  l.log(entry(1));
  const lines = await waitForLines(file, 1);
  assert.equal(JSON.parse(lines[0]).path, '/p/1');
});

test('a file that cannot be opened does not throw on log()', async () => {
  const blocker = path.join(dir, 'blocker');
  fs.writeFileSync(blocker, 'x');
  const [l] = createAccessLoggers([{ sink: 'file', path: path.join(blocker, 'x.log'), textFormat: 'x\n', jsonFormat: null }]);
  l.log(entry(1));
  await l.flush();
});

test('invalid formats throw at creation', () => {
  assert.throws(() => createAccessLoggers([{ sink: 'stdout', path: null, textFormat: '%NOPE%', jsonFormat: null }]), /NOPE/);
});

test('stdout lines reach the pipe when the process ends without an explicit flush', async () => {
  const mod = new URL('../../src/observability/access-log.ts', import.meta.url).href;
  const script = `
    import { createAccessLoggers } from ${JSON.stringify(mod)};
    const [l] = createAccessLoggers([{ sink: 'stdout', path: null, textFormat: 'L %BYTES_SENT%\\n', jsonFormat: null }]);
    for (let i = 0; i < 3; i++) l.log({ startTime: 0, bytesSent: i, responseFlags: '-', requestHeaders: null, responseHeaders: null });
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  const code = await new Promise((r) => child.on('close', r));
  assert.equal(code, 0);
  assert.equal(out, 'L 0\nL 1\nL 2\n');
});

test('Envoy log levels map to pino levels', () => {
  assert.equal(pinoLevel('critical'), 'fatal');
  assert.equal(pinoLevel('off'), 'silent');
  assert.equal(pinoLevel('warning'), 'warn');
  assert.equal(pinoLevel('loud'), null);
  assert.equal(createLogger('debug').level, 'debug');
});

test('access log filters: only accepted entries are written', async () => {
  const e = (responseCode: number, responseFlags: string, durationMs: number): AccessLogEntry => ({ ...entry(responseCode), responseCode, responseFlags, durationMs });
  const nr: AccessLogFilter = { kind: 'response_flag', flags: ['NR'] };
  const anyFlag: AccessLogFilter = { kind: 'response_flag', flags: [] };
  const errors: AccessLogFilter = { kind: 'status_code', op: 'GE', value: 500 };
  const slow: AccessLogFilter = { kind: 'duration', op: 'GE', value: 1000 };
  const table: [AccessLogFilter, AccessLogEntry, boolean][] = [
    [nr, e(404, 'NR', 1), true],
    [nr, e(503, 'UF,URX', 1), false],
    [nr, e(200, '-', 1), false],
    [anyFlag, e(503, 'UF,URX', 1), true],
    [anyFlag, e(200, '-', 1), false],
    [errors, e(503, '-', 1), true],
    [errors, e(499, '-', 1), false],
    [{ kind: 'status_code', op: 'EQ', value: 0 }, e(0, 'UF', 1), true],
    [{ kind: 'status_code', op: 'LE', value: 299 }, e(300, '-', 1), false],
    [slow, e(200, '-', 1500), true],
    [{ kind: 'or', filters: [errors, slow] }, e(200, '-', 10), false],
    [{ kind: 'or', filters: [errors, slow] }, e(200, '-', 1000), true],
    [{ kind: 'and', filters: [anyFlag, errors] }, e(503, 'UO', 1), true],
    [{ kind: 'and', filters: [anyFlag, errors] }, e(503, '-', 1), false],
  ];
  for (const [f, entryValue, want] of table) assert.equal(accessLogFilterAccepts(f, entryValue), want, `${JSON.stringify(f)} on ${entryValue.responseCode} ${entryValue.responseFlags} ${entryValue.durationMs}ms`);

  const file = path.join(dir, 'filtered.log');
  const [logger] = createAccessLoggers([{ sink: 'file', path: file, textFormat: '%RESPONSE_CODE% %RESPONSE_FLAGS%\n', jsonFormat: null, filter: nr }]);
  logger.log(e(200, '-', 1));
  logger.log(e(404, 'NR', 1));
  logger.log(e(503, 'UF', 1));
  await logger.flush();
  await flushAccessLogs();
  assert.deepEqual(fs.readFileSync(file, 'utf8').split('\n').filter(Boolean), ['404 NR']);
});
