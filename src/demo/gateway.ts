// The demo's ingress gateway: its control plane inputs, the OpenID provider it logs users in with, and the check that a login reaches frontend.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DEMO_LOGIN, gatewayInputs, type MeshPorts } from './mesh-config.ts';
import { startDemoIdp, type DemoIdp } from './oidc-provider.ts';

export interface DemoGatewayPlan {
  /** The generated control plane input (Gateway, HTTPRoute and, with a login, Secret and RequestAuthentication). */
  readonly inputFile: string;
  /** The running provider, or null when the demo runs the gateway without a login (see `note`). */
  readonly idp: DemoIdp | null;
  /** Why there is no login, or null. */
  readonly note: string | null;
  /** http://127.0.0.1:<port>/ — what to open in a browser. */
  readonly url: string;
}

/** True when this build's proxy implements both filters the login needs (oauth2, then jwt_authn reading the ID token). */
async function loginFiltersPresent(): Promise<boolean> {
  const { findHttpFilterFactory } = await import('../http/filters/registry.ts');
  return ['oauth2.v3.OAuth2', 'jwt_authn.v3.JwtAuthentication'].every((m) => findHttpFilterFactory('', `type.googleapis.com/envoy.extensions.filters.http.${m}`) !== undefined);
}

/**
 * Starts the provider (in this process, on the plan's port) and writes `<dir>/gateway.yaml`. Without the
 * `oidc-provider` package (a dev dependency) or the proxy's oauth2/jwt_authn filters, the gateway still runs, without a login.
 */
export async function prepareGateway(dir: string, ports: MeshPorts): Promise<DemoGatewayPlan> {
  let idp: DemoIdp | null = null;
  let note: string | null = null;
  const clientSecret = randomBytes(24).toString('base64url');
  if (!(await loginFiltersPresent())) {
    note = 'the proxy has no envoy.filters.http.oauth2 / jwt_authn yet: the gateway runs without a login';
  } else {
    try {
      const redirectUris = ['127.0.0.1', 'localhost'].map((h) => `http://${h}:${ports.gateway.http}${DEMO_LOGIN.redirectPath}`);
      idp = await startDemoIdp(ports.idp, { id: DEMO_LOGIN.clientId, secret: clientSecret, redirectUris }, { ...DEMO_LOGIN.user, groups: [...DEMO_LOGIN.user.groups] });
    } catch (err) {
      note = `the OpenID provider did not start (${(err as Error).message}): the gateway runs without a login`;
    }
  }
  const inputFile = path.join(dir, 'gateway.yaml');
  fs.writeFileSync(inputFile, gatewayInputs(idp ? { issuer: idp.issuer, clientSecret } : null));
  return { inputFile, idp, note, url: `http://127.0.0.1:${ports.gateway.http}/` };
}
