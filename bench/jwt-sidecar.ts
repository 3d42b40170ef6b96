// The bench's jwt_authn row: a sidecar whose route requires an RS256 JWT checked against a local JWKS, and a token for it.
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { Pinning } from './processes.ts';
import { benchBootstrap, launchPilotfish, type Sidecar } from './sidecar.ts';

const ISSUER = 'https://bench.issuer.example';

/** Starts a sidecar with jwt_authn in front of the router; returns it with a valid token (sent as ?access_token=, Envoy's default location). */
export async function startJwtSidecar(p: Pinning, upstreamPort: number): Promise<{ sidecar: Sidecar; token: string }> {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'bench', alg: 'RS256', use: 'sig' };
  const token = await new SignJWT({ sub: 'bench-user', groups: ['bench'] })
    .setProtectedHeader({ alg: 'RS256', kid: 'bench' })
    .setIssuer(ISSUER).setAudience('bench').setIssuedAt().setExpirationTime('2h')
    .sign(privateKey);
  const bootstrap = benchBootstrap(upstreamPort);
  const hcm = (((bootstrap.static_resources as { listeners: { filter_chains: { filters: { typed_config: { http_filters: object[] } }[] }[] }[] })
    .listeners[0]!.filter_chains[0]!.filters[0]!).typed_config);
  hcm.http_filters.unshift({
    name: 'envoy.filters.http.jwt_authn',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication',
      providers: {
        bench: {
          issuer: ISSUER, audiences: ['bench'],
          local_jwks: { inline_string: JSON.stringify({ keys: [jwk] }) },
          claim_to_headers: [{ header_name: 'x-user', claim_name: 'sub' }],
          jwt_cache_config: { jwt_cache_size: 100 },
        },
      },
      rules: [{ match: { prefix: '/' }, requires: { provider_name: 'bench' } }],
    },
  });
  return { sidecar: await launchPilotfish(p, 'pilotfish-jwt', bootstrap, 'bench_ingress'), token };
}
