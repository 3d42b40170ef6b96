// jwt_authn config validation: each bad JwtAuthentication / PerRouteConfig is refused naming the field and the reason.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { validateHttpFilterConfig } from '../../src/http/filters/registry.ts';
import { JWT_PER_ROUTE_TYPE, JWT_TYPE, localProvider, remoteProvider } from './jwt-fixtures.ts';

const JWKS = JSON.stringify({ keys: [{ kty: 'RSA', kid: 'k1', alg: 'RS256', n: 'sXch', e: 'AQAB' }] });
type Json = Record<string, unknown>;

const cases: { name: string; config: Json; field: string; message: RegExp; perRoute?: boolean }[] = [
  { name: 'provider without keys', config: { providers: { p: { issuer: 'x' } } }, field: 'providers.p', message: /one of remote_jwks, local_jwks .* is required/ },
  { name: 'both key sources', config: { providers: { p: { ...remoteProvider(), local_jwks: { inline_string: JWKS } } } }, field: 'providers.p.local_jwks', message: /only one of/ },
  { name: 'remote_jwks without http_uri', config: { providers: { p: { remote_jwks: {} } } }, field: 'providers.p.remote_jwks.http_uri', message: /is required/ },
  { name: 'http_uri without timeout', config: { providers: { p: { remote_jwks: { http_uri: { uri: 'https://i/jwks', cluster: 'idp' } } } } }, field: 'providers.p.remote_jwks.http_uri.timeout', message: /is required/ },
  { name: 'http_uri without cluster', config: { providers: { p: { remote_jwks: { http_uri: { uri: 'https://i/jwks', timeout: '1s' } } } } }, field: 'providers.p.remote_jwks.http_uri.cluster', message: /is required/ },
  { name: 'not a URL', config: { providers: { p: { remote_jwks: { http_uri: { uri: 'jwks.json', cluster: 'c', timeout: '1s' } } } } }, field: 'providers.p.remote_jwks.http_uri.uri', message: /not an http:\/\/ or https:\/\/ URL/ },
  { name: 'bad cache_duration', config: { providers: { p: remoteProvider({ remote_jwks: { http_uri: { uri: 'https://i/j', cluster: 'c', timeout: '1s' }, cache_duration: 'soon' } }) } }, field: 'providers.p.remote_jwks.cache_duration', message: /./ },
  { name: 'bad timeout', config: { providers: { p: { remote_jwks: { http_uri: { uri: 'https://i/j', cluster: 'c', timeout: '-1s' } } } } }, field: 'providers.p.remote_jwks.http_uri.timeout', message: /./ },
  { name: 'local JWKS that is not JSON', config: { providers: { p: localProvider('{nope') } }, field: 'providers.p.local_jwks.inline_string', message: /not a usable JWKS: JwksParseError/ },
  { name: 'local JWKS without usable keys', config: { providers: { p: localProvider('{"keys":[{"kty":"RSA"}]}') } }, field: 'providers.p.local_jwks.inline_string', message: /JwksNoValidKeys/ },
  { name: 'unknown provider in a rule', config: { providers: { p: localProvider(JWKS) }, rules: [{ match: { prefix: '/' }, requires: { provider_name: 'nope' } }] }, field: 'rules[0].requires.provider_name', message: /provider "nope" is not configured \(providers: "p"\)/ },
  { name: 'unknown provider in requirement_map', config: { providers: { p: localProvider(JWKS) }, requirement_map: { r: { provider_and_audiences: { provider_name: 'q', audiences: ['a'] } } } }, field: 'requirement_map.r.provider_and_audiences.provider_name', message: /provider "q" is not configured/ },
  { name: 'requires_any with one item', config: { providers: { p: localProvider(JWKS) }, rules: [{ match: { prefix: '/' }, requires: { requires_any: { requirements: [{ provider_name: 'p' }] } } }] }, field: 'rules[0].requires.requires_any.requirements', message: /at least 2 items/ },
  { name: 'unknown requirement_name', config: { providers: { p: localProvider(JWKS) }, rules: [{ match: { prefix: '/' }, requirement_name: 'r' }] }, field: 'rules[0].requirement_name', message: /"r" is not in requirement_map/ },
  { name: 'rule without match', config: { providers: { p: localProvider(JWKS) }, rules: [{ requires: { provider_name: 'p' } }] }, field: 'rules[0].match', message: /is required/ },
  { name: 'bad header name in claim_to_headers', config: { providers: { p: localProvider(JWKS, { claim_to_headers: [{ header_name: 'x user', claim_name: 'sub' }] }) } }, field: 'providers.p.claim_to_headers[0].header_name', message: /not a valid HTTP header name/ },
  { name: 'claim_to_headers without claim', config: { providers: { p: localProvider(JWKS, { claim_to_headers: [{ header_name: 'x-user' }] }) } }, field: 'providers.p.claim_to_headers[0].claim_name', message: /is required/ },
  { name: 'from_headers without name', config: { providers: { p: localProvider(JWKS, { from_headers: [{ value_prefix: 'Bearer ' }] }) } }, field: 'providers.p.from_headers[0].name', message: /is required/ },
  { name: 'unsupported filter_state_rules', config: { providers: { p: localProvider(JWKS) }, filter_state_rules: { name: 'x' } }, field: 'filter_state_rules', message: /not supported yet/ },
  { name: 'unknown field', config: { providers: { p: localProvider(JWKS, { isuer: 'x' }) } }, field: 'providers.p.isuer', message: /unknown field "isuer"/ },
  { name: 'negative max_lifetime', config: { providers: { p: localProvider(JWKS, { max_lifetime: '0s' }) } }, field: 'providers.p.max_lifetime', message: /greater than 0/ },
  { name: 'per-route disabled: false', perRoute: true, config: { '@type': JWT_PER_ROUTE_TYPE, disabled: false }, field: 'disabled', message: /must be true/ },
  { name: 'per-route empty', perRoute: true, config: { '@type': JWT_PER_ROUTE_TYPE }, field: '', message: /one of disabled, requirement_name is required/ },
  { name: 'PerRouteConfig in http_filters', config: { '@type': JWT_PER_ROUTE_TYPE, disabled: true }, field: '', message: /belongs in typed_per_filter_config/ },
];

describe('jwt_authn config errors', () => {
  for (const c of cases) {
    test(c.name, () => {
      const type = typeof c.config['@type'] === 'string' ? (c.config['@type'] as string) : JWT_TYPE;
      const r = validateHttpFilterConfig(type, c.config, c.perRoute ?? false);
      assert.ok(r.known);
      const hit = r.errors.find((e) => e.field === c.field && c.message.test(e.message));
      assert.ok(hit, `expected an error at ${JSON.stringify(c.field)} matching ${c.message}; got ${JSON.stringify(r.errors)}`);
    });
  }

  test('a full config is accepted; clear_route_cache warns, jwt_cache_config is accepted', () => {
    const r = validateHttpFilterConfig(JWT_TYPE, {
      providers: {
        remote: remoteProvider({
          from_headers: [{ name: 'x-jwt' }], from_params: ['jwt'], from_cookies: ['IdToken'], forward: true,
          forward_payload_header: 'x-jwt-payload', pad_forward_payload_header: true, payload_in_metadata: 'payload',
          header_in_metadata: 'header', clock_skew_seconds: 30, max_lifetime: '86400s', require_expiration: true,
          subjects: { prefix: 'spiffe://' }, claim_to_headers: [{ header_name: 'x-user', claim_name: 'sub' }],
          normalize_payload_in_metadata: { space_delimited_claims: ['scope'] }, jwt_cache_config: { jwt_cache_size: 100 },
          clear_route_cache: true,
        }),
        local: localProvider(JWKS),
      },
      rules: [
        { match: { prefix: '/api' }, requires: { requires_any: { requirements: [{ provider_name: 'remote' }, { allow_missing: {} }] } } },
        { match: { safe_regex: { regex: '/admin/.*' }, headers: [{ name: 'x-a', present_match: true }] }, requirement_name: 'both' },
        { match: { path: '/health' } },
      ],
      requirement_map: { both: { requires_all: { requirements: [{ provider_name: 'remote' }, { provider_and_audiences: { provider_name: 'local', audiences: ['x'] } }] } } },
      bypass_cors_preflight: true,
    });
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.warnings.map((w) => w.field), ['providers.remote.clear_route_cache']);
  });

  // Envoy's docs write `audiences: audience1` (a scalar): refused, and only there — the rules naming that provider do not
  // also say it "is not configured".
  test('a provider with errors is reported once, not again at every rule naming it', () => {
    const r = validateHttpFilterConfig(JWT_TYPE, {
      providers: { jwt_provider1: localProvider(JWKS, { audiences: 'audience1' }) },
      rules: [{ match: { prefix: '/' }, requires: { provider_name: 'jwt_provider1' } }],
      requirement_map: { r: { provider_name: 'jwt_provider1' } },
    });
    assert.deepEqual(r.errors.map((e) => e.field), ['providers.jwt_provider1.audiences']);
    assert.match(r.errors[0].message, /expected a list/);
  });

  test('a per-route requirement_name is accepted', () => {
    const r = validateHttpFilterConfig(JWT_PER_ROUTE_TYPE, { requirement_name: 'x' }, true);
    assert.deepEqual(r.errors, []);
  });
});
