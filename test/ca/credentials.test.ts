// Credential checks: the local token file (format, creation, reload) and Kubernetes TokenReview against a local API server stand-in.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CaError } from '../../xds/ca/ca-error.ts';
import { bearerToken } from '../../xds/ca/credentials.ts';
import { parseTokenFile, TokenFileAuthenticator } from '../../xds/ca/token-file.ts';
import { TokenReviewAuthenticator } from '../../xds/ca/token-review.ts';
import { FakeApiServer } from './fake-apiserver.ts';
import { captureLog, tempDir } from './fixtures.ts';

function isCa(code: string, re: RegExp) {
  return (err: unknown) => err instanceof CaError && err.code === code && re.test(err.message);
}

describe('bearer token', () => {
  it('takes the token from "Bearer <token>" and refuses anything else', () => {
    assert.equal(bearerToken(['Bearer abc.def-ghi']), 'abc.def-ghi');
    assert.equal(bearerToken(['bearer  xyz ']), 'xyz');
    assert.throws(() => bearerToken([]), isCa('UNAUTHENTICATED', /authorization metadata is missing/));
    assert.throws(() => bearerToken(['Basic dXNlcg==']), isCa('UNAUTHENTICATED', /not "Bearer <token>"/));
    assert.throws(() => bearerToken(['Bearer a b']), isCa('UNAUTHENTICATED', /not "Bearer <token>"/));
    assert.throws(() => bearerToken(['Bearer a', 'Bearer b']), isCa('UNAUTHENTICATED', /more than one/));
  });
});

describe('token file', () => {
  it('is written with a random token per seeded identity (mode 0600) and grants exactly that identity', async () => {
    const file = path.join(tempDir(), 'ca', 'tokens.yaml');
    const log = captureLog();
    const auth = TokenFileAuthenticator.open(file, log.logger, [{ namespace: 'default', serviceAccount: 'orders' }, { namespace: 'shop', serviceAccount: 'payments' }]);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.ok(log.find(/wrote a new token file/));
    const text = fs.readFileSync(file, 'utf8');
    assert.match(text, /^# Pilotfish control plane: local workload credentials/);
    const tokens = [...text.matchAll(/^"([A-Za-z0-9_-]{32})": \{ namespace: "(\S+)", serviceAccount: "(\S+)" \}$/gm)];
    assert.equal(tokens.length, 2);
    assert.deepEqual(await auth.authenticate(tokens[1][1]), { namespace: 'shop', serviceAccount: 'payments' });
    await assert.rejects(auth.authenticate('x'.repeat(32)), isCa('UNAUTHENTICATED', /the token is not in the token file/));
    // An existing file is kept as it is.
    TokenFileAuthenticator.open(file, captureLog().logger, [{ namespace: 'other', serviceAccount: 'x' }]);
    assert.equal(fs.readFileSync(file, 'utf8'), text);
  });

  it('accepts JSON, defaults the namespace, and lists every problem', () => {
    const ok = parseTokenFile('{"0123456789abcdef": {"serviceAccount": "orders"}}', 'f.json');
    assert.deepEqual([...ok.values()], [{ namespace: 'default', serviceAccount: 'orders' }]);
    assert.equal(parseTokenFile('# nothing yet\n', 'f').size, 0);
    assert.throws(() => parseTokenFile('- a\n- b\n', 'f.yaml'), /token file f\.yaml: expected a mapping of token → \{namespace, serviceAccount\}/);
    assert.throws(() => parseTokenFile('a: [', 'f.yaml'), /token file f\.yaml: /);
    assert.throws(() => parseTokenFile('short: {serviceAccount: a}\n0123456789abcdef: {namespace: Bad, serviceAccount: a}\n0123456789abcdeg: 5\n', 'f.yaml'), (err: Error) => {
      assert.match(err.message, /token "shor…": shorter than 16 characters/);
      assert.match(err.message, /token "0123…": namespace "Bad" is not a DNS-1123 label/);
      assert.match(err.message, /token "0123…": expected \{namespace, serviceAccount\}/);
      assert.doesNotMatch(err.message, /0123456789abcdef/, 'tokens are not printed whole');
      return true;
    });
  });

  it('is re-read when it changes; a broken edit keeps the previous tokens', async () => {
    const file = path.join(tempDir(), 'tokens.yaml');
    fs.writeFileSync(file, '"aaaaaaaaaaaaaaaa": {namespace: default, serviceAccount: a}\n', { mode: 0o600 });
    const log = captureLog();
    const auth = TokenFileAuthenticator.open(file, log.logger);
    assert.deepEqual(await auth.authenticate('aaaaaaaaaaaaaaaa'), { namespace: 'default', serviceAccount: 'a' });
    fs.writeFileSync(file, '"bbbbbbbbbbbbbbbb": {namespace: default, serviceAccount: bee}\n');
    assert.deepEqual(await auth.authenticate('bbbbbbbbbbbbbbbb'), { namespace: 'default', serviceAccount: 'bee' });
    await assert.rejects(auth.authenticate('aaaaaaaaaaaaaaaa'), isCa('UNAUTHENTICATED', /not in the token file/));
    fs.writeFileSync(file, 'this: is: not: yaml: [\n');
    assert.deepEqual(await auth.authenticate('bbbbbbbbbbbbbbbb'), { namespace: 'default', serviceAccount: 'bee' });
    assert.ok(log.find(/token file change refused, keeping the previous tokens/));
  });

  it('warns when others can read it', () => {
    const file = path.join(tempDir(), 'tokens.yaml');
    fs.writeFileSync(file, '{}\n', { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    const log = captureLog();
    TokenFileAuthenticator.open(file, log.logger);
    assert.ok(log.find(/token file is readable by group or others/));
  });
});

describe('Kubernetes TokenReview', () => {
  const api = new FakeApiServer();
  const dir = tempDir();
  const ownToken = path.join(dir, 'sa-token');
  before(async () => {
    await api.start();
    fs.writeFileSync(ownToken, `${api.callerToken}\n`);
    api.tokens.set('pod-token-orders', { namespace: 'default', serviceAccount: 'orders' });
    api.tokens.set('pod-token-ca', { namespace: 'shop', serviceAccount: 'payments', audiences: ['pilotfish-ca'] });
    api.tokens.set('old-apiserver-token', { namespace: 'default', serviceAccount: 'orders', ignoresAudiences: true });
    api.tokens.set('human-token', { namespace: '', serviceAccount: '', username: 'kubernetes-admin' });
  });
  after(() => api.close());
  const reviewer = (o: { audiences?: string[]; tokenFile?: string; apiServer?: string } = {}) =>
    new TokenReviewAuthenticator({ apiServer: o.apiServer ?? api.url, tokenFile: o.tokenFile ?? ownToken, caFile: api.tls.certPath, audiences: o.audiences, logger: captureLog().logger });

  it('posts a TokenReview with the control plane\'s own token and maps the service account', async () => {
    const before = api.seen.length;
    assert.deepEqual(await reviewer().authenticate('pod-token-orders'), { namespace: 'default', serviceAccount: 'orders' });
    const seen = api.seen[before];
    assert.equal(seen.method, 'POST');
    assert.equal(seen.path, '/apis/authentication.k8s.io/v1/tokenreviews');
    assert.equal(seen.authorization, `Bearer ${api.callerToken}`);
    assert.equal(seen.contentType, 'application/json');
    assert.deepEqual(seen.body, { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: 'pod-token-orders' } });
  });

  it('refuses tokens Kubernetes does not authenticate, or that are not a service account\'s', async () => {
    await assert.rejects(reviewer().authenticate('forged'), isCa('UNAUTHENTICATED', /Kubernetes did not authenticate the token: \[invalid bearer token, token lookup failed\]/));
    await assert.rejects(reviewer().authenticate('human-token'), isCa('UNAUTHENTICATED', /belongs to "kubernetes-admin", not to a service account/));
  });

  it('asks for the configured audiences and checks the answer', async () => {
    const before = api.seen.length;
    assert.deepEqual(await reviewer({ audiences: ['pilotfish-ca'] }).authenticate('pod-token-ca'), { namespace: 'shop', serviceAccount: 'payments' });
    assert.deepEqual(api.seen[before].body.spec?.audiences, ['pilotfish-ca']);
    await assert.rejects(reviewer({ audiences: ['pilotfish-ca'] }).authenticate('pod-token-orders'), isCa('UNAUTHENTICATED', /did not authenticate the token: .*audiences/));
    await assert.rejects(reviewer({ audiences: ['pilotfish-ca'] }).authenticate('old-apiserver-token'), isCa('UNAUTHENTICATED', /not valid for the audience pilotfish-ca/));
  });

  it('reports UNAVAILABLE when the API server refuses the control plane or cannot be reached', async () => {
    const wrong = path.join(dir, 'wrong-token');
    fs.writeFileSync(wrong, 'not-the-right-one');
    await assert.rejects(reviewer({ tokenFile: wrong }).authenticate('pod-token-orders'), isCa('UNAVAILABLE', /TokenReview answered HTTP 401: Unauthorized/));
    await assert.rejects(reviewer({ apiServer: 'https://127.0.0.1:1' }).authenticate('pod-token-orders'), isCa('UNAVAILABLE', /TokenReview request to https:\/\/127\.0\.0\.1:1 failed/));
    const noCa = new TokenReviewAuthenticator({ apiServer: api.url, tokenFile: ownToken, logger: captureLog().logger });
    await assert.rejects(noCa.authenticate('pod-token-orders'), isCa('UNAVAILABLE', /failed: .*(self-signed|certificate)/), 'the API server\'s certificate is checked');
    assert.throws(() => new TokenReviewAuthenticator({ apiServer: api.url, tokenFile: path.join(dir, 'missing'), logger: captureLog().logger }), /own service-account token .*missing does not exist/);
  });

  it('re-reads its own token for every review (projected tokens rotate)', async () => {
    const rotating = path.join(dir, 'rotating-token');
    fs.writeFileSync(rotating, 'old-token');
    const r = reviewer({ tokenFile: rotating });
    await assert.rejects(r.authenticate('pod-token-orders'), isCa('UNAVAILABLE', /HTTP 401/));
    fs.writeFileSync(rotating, api.callerToken);
    assert.deepEqual(await r.authenticate('pod-token-orders'), { namespace: 'default', serviceAccount: 'orders' });
  });
});
