// IdP endpoints the control plane emits are verified by name: a real sidecar with the JWKS cluster of xds/translate/authn.ts refuses a JWKS server whose certificate (from a trusted CA) names another host.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { JwtProvider } from '../../xds/input/types.ts';
import { compileMesh } from '../../xds/input/mesh.ts';
import { endpointCluster, jwtProvider, type AuthnClusters } from '../../xds/translate/authn.ts';
import { MeshView } from '../../xds/translate/mesh-view.ts';
import type { Json } from '../../xds/translate/resource.ts';
import { bootstrap, httpConnectionManager, listener, route, routerFilter, staticCluster } from '../helpers/bootstrap.ts';
import { startSidecar, tempDir, type Sidecar } from '../helpers/sidecar.ts';
import { jwks, signingKey, token, type SigningKey } from '../http-filters/jwt-fixtures.ts';
import { makeLeaf, makeRoot } from '../identity/pki.ts';

const JWT_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication';
const ISSUER = 'https://idp.example';

let sidecar: Sidecar;
let key: SigningKey;
const servers: net.Server[] = [];

async function listen(s: net.Server): Promise<number> {
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return (s.address() as net.AddressInfo).port;
}

/** A JWKS endpoint on loopback presenting a certificate for `dns` (signed by the CA the cluster trusts). */
async function jwksServer(root: ReturnType<typeof makeRoot>, dns: string[]): Promise<number> {
  const leaf = makeLeaf({ dns, issuer: root });
  return listen(https.createServer({ cert: leaf.chainPem, key: leaf.keyPem }, (_q, s) => {
    s.writeHead(200, { 'content-type': 'application/json' }).end(jwks(key));
  }));
}

/** The provider and cluster exactly as the control plane translates a jwksUri `https://localhost:<port>/jwks`. */
function translated(view: MeshView, port: number, caFile: string, into: AuthnClusters): { provider: Json; cluster: Json } {
  const p: JwtProvider = {
    name: 'corp', issuer: ISSUER, audiences: [], jwksUri: `https://localhost:${port}/jwks`, jwks: null, forwardOriginalToken: false,
    outputClaimToHeaders: [{ header: 'x-user', claim: 'sub' }], fromHeaders: [], fromCookies: [], caFile,
  };
  const provider = jwtProvider(view, p, into);
  const name = endpointCluster(view, p.jwksUri!, caFile, into);
  return { provider, cluster: into.get(name) as Json };
}

function gatewayListener(name: string, provider: Json): object {
  return listener(name, [httpConnectionManager({
    statPrefix: name, accessLog: false, virtualHosts: [{ name: 'v', domains: ['*'], routes: [route({ prefix: '/' }, 'app')] }],
    extra: { http_filters: [{ name: 'envoy.filters.http.jwt_authn', typed_config: { '@type': JWT_TYPE, providers: { corp: provider }, rules: [{ match: { prefix: '/' }, requires: { provider_name: 'corp' } }] } }, routerFilter] },
  })]);
}

before(async () => {
  key = await signingKey('RS256', 'k1');
  const root = makeRoot('public-ish root');
  const dir = tempDir();
  const caFile = path.join(dir, 'ca.pem');
  fs.writeFileSync(caFile, root.certPem);
  const evil = await jwksServer(root, ['evil.test']);
  const good = await jwksServer(root, ['localhost']);
  const app = await listen(http.createServer((req, res) => res.end(`x-user=${String(req.headers['x-user'])}`)));
  const c = compileMesh([], []);
  assert.ok(c.ok);
  const view = new MeshView(c.model, [], { trustDomain: 'cluster.local', defaultMode: 'PERMISSIVE' });
  const into: AuthnClusters = new Map();
  const e = translated(view, evil, caFile, into);
  const g = translated(view, good, caFile, into);
  // Durations as proto JSON strings (the control plane's objects go through protobuf over xDS).
  const clusters = [e.cluster, g.cluster].map((cl) => ({ ...cl, connect_timeout: '5s' }));
  const fixTimeout = (p: Json) => ({ ...p, remote_jwks: { http_uri: { ...((p.remote_jwks as Json).http_uri as Json), timeout: '5s' }, cache_duration: '300s' } });
  sidecar = await startSidecar(bootstrap([gatewayListener('evil', fixTimeout(e.provider)), gatewayListener('good', fixTimeout(g.provider))], [staticCluster('app', [app]), ...clusters]));
});

after(async () => {
  await sidecar?.stop();
  for (const s of servers) s.close();
});

describe('IdP clusters check the certificate names the IdP host', () => {
  it('a JWKS server with a valid certificate for another name is refused: a token signed by its key gets 401, nothing reaches the app', async () => {
    const forged = await token(key, { iss: ISSUER, sub: 'admin' });
    const res = await fetch(`${sidecar.url('evil')}/x`, { headers: { authorization: `Bearer ${forged}` } });
    assert.equal(res.status, 401, await res.text());
  });

  it('the same keys served under a certificate for the URL\'s host are used: 200 with the claim header', async () => {
    const t = await token(key, { iss: ISSUER, sub: 'alice' });
    const res = await fetch(`${sidecar.url('good')}/x`, { headers: { authorization: `Bearer ${t}` } });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'x-user=alice');
  });
});
