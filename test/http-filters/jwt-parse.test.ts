// JWT parsing and JWKS parsing on their own: the statuses for malformed input, skipped keys, audience normalization.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseJwks } from '../../src/policy/jwt/jwks.ts';
import { audienceAllowed, checkTime, claimHeaderValue, normalizeAudience, parseJwt } from '../../src/policy/jwt/token.ts';

const b = (o: unknown) => Buffer.from(typeof o === 'string' ? o : JSON.stringify(o)).toString('base64url');

describe('parseJwt statuses', () => {
  const cases: [string, string, string][] = [
    ['one segment', 'abc', 'JwtBadFormat'],
    ['four segments', 'a.b.c.d', 'JwtBadFormat'],
    ['header not base64url', `a*b.${b({})}.c2ln`, 'JwtHeaderParseErrorBadBase64'],
    ['header a JSON list', `${b([1])}.${b({})}.c2ln`, 'JwtHeaderParseErrorBadJson'],
    ['alg missing', `${b({ typ: 'JWT' })}.${b({})}.c2ln`, 'JwtHeaderBadAlg'],
    ['alg none', `${b({ alg: 'none' })}.${b({})}.c2ln`, 'JwtHeaderNotImplementedAlg'],
    ['alg unknown', `${b({ alg: 'RS1' })}.${b({})}.c2ln`, 'JwtHeaderNotImplementedAlg'],
    ['kid a number', `${b({ alg: 'RS256', kid: 7 })}.${b({})}.c2ln`, 'JwtHeaderBadKid'],
    ['payload not base64url', `${b({ alg: 'RS256' })}.a*b.c2ln`, 'JwtPayloadParseErrorBadBase64'],
    ['empty signature', `${b({ alg: 'RS256' })}.${b({})}.`, 'JwtSignatureParseErrorBadBase64'],
    ['iss a number', `${b({ alg: 'RS256' })}.${b({ iss: 1 })}.c2ln`, 'JwtPayloadParseErrorIssNotString'],
    ['aud a number', `${b({ alg: 'RS256' })}.${b({ aud: 1 })}.c2ln`, 'JwtPayloadParseErrorAudNotString'],
    ['nbf negative', `${b({ alg: 'RS256' })}.${b({ nbf: -1 })}.c2ln`, 'JwtPayloadParseErrorNbfNotInteger'],
    ['too large', `${b({ alg: 'RS256' })}.${b({ x: 'y'.repeat(9000) })}.c2ln`, 'JwtTooLarge'],
  ];
  for (const [name, tok, want] of cases) test(name, () => assert.equal(parseJwt(tok), want));

  test('a good token parses with its claims', () => {
    const j = parseJwt(`${b({ alg: 'ES256', kid: 'k' })}.${b({ iss: 'i', sub: 's', aud: ['a', 'b'], exp: 10.7, nbf: 1 })}.c2ln`);
    assert.ok(typeof j !== 'string');
    assert.deepEqual([j.alg, j.kid, j.iss, j.sub, j.audiences, j.exp, j.nbf], ['ES256', 'k', 'i', 's', ['a', 'b'], 10, 1]);
    assert.equal(checkTime(j, 100, 60), 'JwtExpired');
    assert.equal(checkTime(j, 65, 60), 'Ok');
  });

  test('audiences compare without scheme and trailing slash (Envoy CheckAudience)', () => {
    const j = parseJwt(`${b({ alg: 'RS256' })}.${b({ aud: 'https://api.example/' })}.c2ln`);
    assert.ok(typeof j !== 'string');
    assert.equal(audienceAllowed(j, new Set([normalizeAudience('http://api.example')])), true);
    assert.equal(audienceAllowed(j, new Set(['other'])), false);
    assert.equal(audienceAllowed(j, new Set()), true);
  });

  test('claim header values: control characters are refused, UTF-8 goes out as bytes', () => {
    assert.equal(claimHeaderValue('a\r\nx-admin: true'), null);
    assert.equal(Buffer.from(claimHeaderValue('José')!, 'latin1').toString('utf8'), 'José');
    assert.equal(claimHeaderValue(1.5), '1.500000');
    assert.equal(claimHeaderValue(false), 'false');
    assert.equal(claimHeaderValue(null), null);
  });
});

describe('parseJwks', () => {
  test('statuses for documents that are not key sets', () => {
    assert.equal(parseJwks('nope'), 'JwksParseError');
    assert.equal(parseJwks('{}'), 'JwksNoKeys');
    assert.equal(parseJwks('{"keys":{}}'), 'JwksBadKeys');
    assert.equal(parseJwks('{"keys":[]}'), 'JwksNoValidKeys');
  });

  test('unusable keys are skipped with a reason', () => {
    const r = parseJwks(JSON.stringify({
      keys: [
        { kty: 'RSA', n: 'sXch', e: 'AQAB', kid: 'ok' },
        { kty: 'RSA', n: 'sXch', e: 'AQAB', use: 'enc' },
        { kty: 'RSA', n: 'sXch', e: 'AQAB', alg: 'ES256' },
        { kty: 'EC', crv: 'P-256', x: 'a' },
        { kty: 'RSA', n: 'sXch', e: 'AQAB', d: 'secret' },
        { kty: 'XYZ' },
      ],
    }));
    assert.ok(typeof r !== 'string');
    assert.deepEqual(r.jwks.keys.map((k) => k.kid), ['ok']);
    assert.equal(r.skipped.length, 5);
    assert.match(r.skipped.join('\n'), /use\] is enc[\s\S]*ES256 does not fit a RSA key[\s\S]*\[y\] is missing[\s\S]*private key[\s\S]*XYZ is not supported/);
  });
});
