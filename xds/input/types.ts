// Typed mesh model compiled from the Kubernetes-shaped YAML input (Service, EndpointSlice, Gateway API routes, TrafficPolicy).

/** Where a document came from: file path and 1-based document index within the file. */
export interface DocSource {
  readonly file: string;
  readonly doc: number;
}

/** One input problem, naming file, document, resource and field (a dotted path inside the document). */
export interface InputError {
  readonly file: string;
  readonly doc: number;
  readonly kind: string;
  /** "namespace/name" when known, else "". */
  readonly name: string;
  readonly field: string;
  readonly message: string;
}

export interface ServicePort {
  readonly name: string;
  readonly port: number;
  /** Port number or named container port; defaults to `port`. */
  readonly targetPort: number | string;
  readonly protocol: 'TCP' | 'UDP' | 'SCTP';
  readonly appProtocol: string | null;
}

export interface Service {
  readonly name: string;
  readonly namespace: string;
  readonly ports: readonly ServicePort[];
  readonly selector: Readonly<Record<string, string>>;
  /**
   * The Service's virtual IPs (spec.clusterIPs, else spec.clusterIP); empty or absent for headless Services ("None") and
   * Services without one. Captured workloads route calls to <VIP>:<port> to the Service's endpoints.
   */
  readonly clusterIPs?: readonly string[];
  readonly src: DocSource;
  /** True when synthesized from a sidecar's announced endpoint (no Service document). */
  readonly synthetic?: boolean;
}

export interface SliceEndpoint {
  readonly addresses: readonly string[];
  readonly ready: boolean;
}

export interface SlicePort {
  readonly name: string;
  readonly port: number;
  readonly appProtocol: string | null;
}

export interface EndpointSlice {
  readonly name: string;
  readonly namespace: string;
  readonly serviceName: string;
  readonly endpoints: readonly SliceEndpoint[];
  readonly ports: readonly SlicePort[];
  readonly src: DocSource;
}

export interface TlsSecret {
  readonly name: string;
  readonly namespace: string;
  readonly certPem: string;
  readonly keyPem: string;
  readonly src: DocSource;
}

/** A Secret of type Opaque: its keys and (decoded) values, e.g. an OIDC client secret. */
export interface OpaqueSecret {
  readonly name: string;
  readonly namespace: string;
  readonly data: Readonly<Record<string, string>>;
  readonly src: DocSource;
}

export interface GatewayListener {
  readonly name: string;
  readonly port: number;
  readonly protocol: 'HTTP' | 'HTTPS';
  readonly hostname: string | null;
  /** Secrets ("namespace/name") holding the certificate for HTTPS listeners. */
  readonly certificateRefs: readonly string[];
  /** Certificate and key files on the gateway's disk (tls.options pilotfish.io/certificate-file, pilotfish.io/private-key-file). */
  readonly certificateFiles: readonly { readonly certFile: string; readonly keyFile: string }[];
}

export interface Gateway {
  readonly name: string;
  readonly namespace: string;
  readonly className: string;
  readonly listeners: readonly GatewayListener[];
  readonly src: DocSource;
}

export interface ParentRef {
  readonly kind: 'Service' | 'Gateway';
  readonly name: string;
  readonly namespace: string;
  readonly port: number | null;
  readonly sectionName: string | null;
}

export interface BackendRef {
  readonly name: string;
  readonly namespace: string;
  readonly port: number | null;
  readonly weight: number;
}

export type MatchType = 'Exact' | 'RegularExpression';

export interface ValueMatch {
  readonly type: MatchType;
  readonly name: string;
  readonly value: string;
}

export interface HttpMatch {
  readonly path: { readonly type: 'PathPrefix' | 'Exact' | 'RegularExpression'; readonly value: string } | null;
  readonly headers: readonly ValueMatch[];
  readonly queryParams: readonly ValueMatch[];
  readonly method: string | null;
}

export interface HeaderModifier {
  readonly set: readonly { readonly name: string; readonly value: string }[];
  readonly add: readonly { readonly name: string; readonly value: string }[];
  readonly remove: readonly string[];
}

export type RouteFilter =
  | { readonly type: 'RequestHeaderModifier'; readonly modifier: HeaderModifier }
  | { readonly type: 'ResponseHeaderModifier'; readonly modifier: HeaderModifier }
  | {
      readonly type: 'URLRewrite';
      readonly hostname: string | null;
      readonly path: { readonly type: 'ReplaceFullPath' | 'ReplacePrefixMatch'; readonly value: string } | null;
    }
  | {
      readonly type: 'RequestRedirect';
      readonly scheme: string | null;
      readonly hostname: string | null;
      readonly port: number | null;
      readonly statusCode: 301 | 302 | 303 | 307 | 308;
      readonly path: { readonly type: 'ReplaceFullPath' | 'ReplacePrefixMatch'; readonly value: string } | null;
    };

export interface HttpRouteRule {
  readonly matches: readonly HttpMatch[];
  readonly filters: readonly RouteFilter[];
  readonly backendRefs: readonly BackendRef[];
  readonly requestTimeoutMs: number | null;
  readonly backendRequestTimeoutMs: number | null;
}

export interface GrpcMatch {
  readonly method: { readonly type: MatchType; readonly service: string | null; readonly method: string | null } | null;
  readonly headers: readonly ValueMatch[];
}

export interface GrpcRouteRule {
  readonly matches: readonly GrpcMatch[];
  readonly filters: readonly RouteFilter[];
  readonly backendRefs: readonly BackendRef[];
}

export interface HttpRoute {
  readonly kind: 'HTTPRoute';
  readonly name: string;
  readonly namespace: string;
  readonly parentRefs: readonly ParentRef[];
  readonly hostnames: readonly string[];
  readonly rules: readonly HttpRouteRule[];
  readonly src: DocSource;
}

export interface GrpcRoute {
  readonly kind: 'GRPCRoute';
  readonly name: string;
  readonly namespace: string;
  readonly parentRefs: readonly ParentRef[];
  readonly hostnames: readonly string[];
  readonly rules: readonly GrpcRouteRule[];
  readonly src: DocSource;
}

export type AnyRoute = HttpRoute | GrpcRoute;

export interface RetryPolicy {
  readonly attempts: number;
  readonly perTryTimeoutMs: number | null;
  readonly retryOn: readonly string[];
  /** HTTP status codes retried when retryOn has "retriable-status-codes" (default [503]). */
  readonly retriableStatusCodes: readonly number[];
  readonly backoff: { readonly baseMs: number; readonly maxMs: number | null } | null;
  readonly budget: { readonly percent: number; readonly minRetryConcurrency: number | null } | null;
}

export interface CircuitBreaker {
  readonly maxConnections: number | null;
  readonly maxPendingRequests: number | null;
  readonly maxRequests: number | null;
  readonly maxRetries: number | null;
}

export interface OutlierDetection {
  readonly consecutive5xx: number | null;
  readonly consecutiveGatewayErrors: number | null;
  readonly intervalMs: number | null;
  readonly baseEjectionTimeMs: number | null;
  readonly maxEjectionTimeMs: number | null;
  readonly maxEjectionPercent: number | null;
}

export type LbPolicyName = 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RANDOM' | 'RING_HASH';

export interface LoadBalancer {
  readonly policy: LbPolicyName;
  readonly hashOn: { readonly header: string } | { readonly cookie: string; readonly ttlMs: number | null } | { readonly sourceIP: true } | null;
}

/** Who a rule admits: every field given must match (AND); entries within a field are alternatives (OR). */
export interface AuthorizationSource {
  /** SPIFFE IDs and patterns: "spiffe://td/ns/x/sa/y", "ns/x/sa/y", "ns/x/*", "*" (any authenticated peer). */
  readonly principals: readonly string[];
  /** "namespace/name", "name" (the policy's namespace) or "namespace/*". */
  readonly serviceAccounts: readonly string[];
  /** Peer namespaces ("*": any). */
  readonly namespaces: readonly string[];
  /** End users by "<issuer>/<subject>", "<issuer>/*" or "*" (any validated token), from the JWT the sidecar validated. */
  readonly requestPrincipals: readonly string[];
  /** JWT claims that must all match; each lists alternative values (a list claim matches when it contains one). */
  readonly claims: readonly AuthorizationClaim[];
}

/** A claim condition: the claim (top-level name) equals one of `values`, or is a list containing one of them. */
export interface AuthorizationClaim {
  readonly claim: string;
  readonly values: readonly string[];
}

/** A header condition: exact value, "prefix*", "*suffix", or "*" (present). */
export interface AuthorizationHeader {
  readonly name: string;
  readonly value: string;
}

/** What a rule covers: every field given must match (AND); entries within a field are alternatives (OR), headers all match. */
export interface AuthorizationTarget {
  readonly methods: readonly string[];
  /** Exact, "prefix*", "*suffix" or "*". */
  readonly paths: readonly string[];
  readonly ports: readonly number[];
  readonly headers: readonly AuthorizationHeader[];
}

export interface AuthorizationRule {
  readonly from: readonly AuthorizationSource[];
  readonly to: readonly AuthorizationTarget[];
}

export interface Authorization {
  /** Names the RBAC policies (`<namespace>.<name>.<rule index>`): the entry's name, else the TrafficPolicy's (list entries: `<policy>-<index>`). */
  readonly name: string;
  readonly action: 'ALLOW' | 'DENY';
  readonly rules: readonly AuthorizationRule[];
}

export type MtlsMode = 'STRICT' | 'PERMISSIVE' | 'DISABLE';

export interface MtlsPolicy {
  /** The workload's mode; null: the mesh-wide default. */
  readonly mode: MtlsMode | null;
  /** Per service port (number or name as written) → mode, overriding `mode`. */
  readonly ports: Readonly<Record<string, MtlsMode>>;
}

export interface TrafficPolicy {
  readonly name: string;
  readonly namespace: string;
  readonly target: { readonly kind: 'Service'; readonly name: string; readonly namespace: string };
  readonly retry: RetryPolicy | null;
  readonly timeoutMs: number | null;
  readonly circuitBreaker: CircuitBreaker | null;
  readonly outlierDetection: OutlierDetection | null;
  readonly loadBalancer: LoadBalancer | null;
  readonly mtls: MtlsPolicy | null;
  /** Authorization policies (one or a list in the input), or null. */
  readonly authorization: readonly Authorization[] | null;
  /**
   * Set by the compiler when rules match end-user claims: the issuers of the providers the workload trusts
   * (input/authn-trust.ts); claim rules match only tokens whose `iss` is one of them.
   */
  readonly claimIssuers?: readonly string[];
  readonly src: DocSource;
}

/** What a RequestAuthentication applies to: a Gateway (optionally one listener), an HTTPRoute/GRPCRoute, or a Service's sidecar. */
export interface AuthnTarget {
  readonly kind: 'Gateway' | 'HTTPRoute' | 'GRPCRoute' | 'Service';
  readonly name: string;
  readonly namespace: string;
  /** Gateway listener name (Gateway targets only), or null for every listener. */
  readonly sectionName: string | null;
}

/**
 * A secret value: a key of an Opaque Secret ("namespace/name"; the control plane writes it to an SDS file in its secret
 * directory, which the proxy must share), or an Envoy SDS file on the proxy's disk holding a Secret `name` with a generic_secret.
 */
export type SecretValue =
  | { readonly secret: string; readonly key: string }
  | { readonly file: string; readonly name: string };

export interface JwtProvider {
  /** Unique per RequestAuthentication; the Envoy provider is named `<namespace>/<policy>/<name>`. */
  readonly name: string;
  readonly issuer: string;
  readonly audiences: readonly string[];
  readonly jwksUri: string | null;
  /** Inline JWKS (JSON text). */
  readonly jwks: string | null;
  readonly forwardOriginalToken: boolean;
  readonly outputClaimToHeaders: readonly { readonly header: string; readonly claim: string }[];
  /** Where the token is read: header names with a value prefix; default Authorization "Bearer ". */
  readonly fromHeaders: readonly { readonly name: string; readonly prefix: string }[];
  readonly fromCookies: readonly string[];
  /** PEM CA file on the proxy to verify an https JWKS endpoint (default: the system bundle). */
  readonly caFile: string | null;
  /** Opt-in: a plain http:// jwksUri to a host that is neither a mesh Service nor loopback is allowed. */
  readonly insecureHttp?: boolean;
}

export interface OidcLogin {
  readonly issuer: string;
  readonly authorizationEndpoint: string;
  readonly tokenEndpoint: string;
  readonly jwksUri: string;
  readonly endSessionEndpoint: string | null;
  readonly clientId: string;
  readonly clientSecret: SecretValue;
  /** HMAC key for the session cookies; null: generated and kept by the control plane. */
  readonly hmacSecret: SecretValue | null;
  readonly redirectPath: string;
  readonly signoutPath: string;
  readonly scopes: readonly string[];
  readonly cookieDomain: string | null;
  /** Identity headers set from the ID token's claims for the backend (and stripped from client requests). */
  readonly headers: { readonly subject: string | null; readonly email: string | null; readonly groups: string | null; readonly name: string | null };
  /** Paths served without a login (exact or "prefix*"). */
  readonly passThroughPaths: readonly string[];
  readonly forwardAccessToken: boolean;
  readonly caFile: string | null;
  /** Opt-in: plain http:// endpoints to a host that is neither a mesh Service nor loopback are allowed. */
  readonly insecureHttp?: boolean;
}

export interface RequestAuthentication {
  readonly name: string;
  readonly namespace: string;
  readonly targets: readonly AuthnTarget[];
  readonly jwt: { readonly required: boolean; readonly providers: readonly JwtProvider[] } | null;
  readonly oidc: OidcLogin | null;
  /**
   * Route targets only: on those routes this policy replaces the authentication of the Gateway listener (its login,
   * its JWT requirement) instead of adding to it. Honoured only in the Gateway's namespace.
   */
  readonly replaceListenerAuthentication?: boolean;
  readonly src: DocSource;
}

/** The whole compiled input. Keys of the maps are "namespace/name". */
export interface MeshModel {
  readonly services: ReadonlyMap<string, Service>;
  /** EndpointSlices by the "namespace/name" of the Service they belong to. */
  readonly endpointSlices: ReadonlyMap<string, readonly EndpointSlice[]>;
  readonly gateways: ReadonlyMap<string, Gateway>;
  readonly secrets: ReadonlyMap<string, TlsSecret>;
  readonly routes: readonly AnyRoute[];
  /** TrafficPolicies by the "namespace/name" of their target Service. */
  readonly policies: ReadonlyMap<string, TrafficPolicy>;
  /** Opaque Secrets (OIDC client secrets, HMAC keys). */
  readonly opaqueSecrets?: ReadonlyMap<string, OpaqueSecret>;
  /** RequestAuthentications in input order. */
  readonly authentications?: readonly RequestAuthentication[];
}

export function key(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}
