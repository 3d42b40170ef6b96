// SPIFFE ID parsing and formatting: a table of valid and invalid workload IDs, trust domains, namespaces and service accounts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatSpiffeId, namespaceError, parseSpiffeId, serviceAccountError, trustDomainError } from '../../xds/ca/spiffe.ts';

describe('SPIFFE IDs', () => {
  it('parses valid workload IDs', () => {
    const table: [string, string, string, string][] = [
      ['spiffe://cluster.local/ns/default/sa/orders', 'cluster.local', 'default', 'orders'],
      ['spiffe://example.org/ns/shop-eu/sa/payments.v2', 'example.org', 'shop-eu', 'payments.v2'],
      ['spiffe://td_1-x/ns/a/sa/b', 'td_1-x', 'a', 'b'],
      ['spiffe://prod/ns/kube-system/sa/default', 'prod', 'kube-system', 'default'],
    ];
    for (const [uri, trustDomain, namespace, serviceAccount] of table) {
      const r = parseSpiffeId(uri);
      assert.ok(r.ok, `${uri}: ${r.ok ? '' : r.error}`);
      assert.deepEqual(r.id, { trustDomain, namespace, serviceAccount, uri });
      assert.equal(formatSpiffeId(trustDomain, r.id), uri);
    }
  });

  it('refuses invalid IDs, saying why', () => {
    const table: [string, RegExp][] = [
      ['', /scheme must be "spiffe:\/\/"/],
      ['https://cluster.local/ns/a/sa/b', /scheme/],
      ['SPIFFE://cluster.local/ns/a/sa/b', /scheme/],
      ['spiffe:///ns/a/sa/b', /trust domain is empty/],
      ['spiffe://Cluster.Local/ns/a/sa/b', /lowercase letters/],
      ['spiffe://cluster.local:8443/ns/a/sa/b', /port is not allowed/],
      ['spiffe://user@cluster.local/ns/a/sa/b', /user info/],
      ['spiffe://cluster.local/ns/a/sa/b/', /empty segment or a trailing/],
      ['spiffe://cluster.local/ns//sa/b', /empty segment/],
      ['spiffe://cluster.local/ns/./sa/b', /"\." or "\.\." segment/],
      ['spiffe://cluster.local/ns/../sa/b', /"\." or "\.\." segment/],
      ['spiffe://cluster.local/ns/a/sa/b?x=1', /query, fragment/],
      ['spiffe://cluster.local/ns/a/sa/b#f', /query, fragment/],
      ['spiffe://cluster.local/ns/a%20b/sa/c', /percent-encoding/],
      ['spiffe://cluster.local/ns/a b/sa/c', /path segment "a b"/],
      ['spiffe://cluster.local', /not \/ns\/<namespace>\/sa\/<service-account>/],
      ['spiffe://cluster.local/ns/a', /not \/ns\/<namespace>\/sa/],
      ['spiffe://cluster.local/sa/b/ns/a', /not \/ns\/<namespace>\/sa/],
      ['spiffe://cluster.local/ns/a/sa/b/extra', /not \/ns\/<namespace>\/sa/],
      ['spiffe://cluster.local/ns/Default/sa/b', /namespace "Default" is not a DNS-1123 label/],
      ['spiffe://cluster.local/ns/a/sa/-b', /service account "-b" is not a DNS-1123 subdomain/],
      [`spiffe://cluster.local/ns/a/sa/${'x'.repeat(2100)}`, /longer than 2048 bytes/],
    ];
    for (const [uri, re] of table) {
      const r = parseSpiffeId(uri);
      assert.equal(r.ok, false, uri);
      if (!r.ok) assert.match(r.error, re, uri);
    }
  });

  it('validates trust domains, namespaces and service accounts', () => {
    assert.equal(trustDomainError('cluster.local'), null);
    assert.match(String(trustDomainError('')), /empty/);
    assert.match(String(trustDomainError('a'.repeat(256))), /255/);
    assert.match(String(trustDomainError('a/b')), /lowercase/);
    assert.equal(namespaceError('default'), null);
    assert.match(String(namespaceError('a'.repeat(64))), /DNS-1123 label/);
    assert.match(String(namespaceError('a.b')), /DNS-1123 label/);
    assert.equal(serviceAccountError('a.b-c'), null);
    assert.match(String(serviceAccountError('a..b')), /DNS-1123 subdomain/);
    assert.match(String(serviceAccountError('')), /DNS-1123 subdomain/);
  });
});
