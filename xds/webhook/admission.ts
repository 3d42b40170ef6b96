// Answers one AdmissionReview (v1) with the injection's JSON Patch; never denies: problems become warnings on an allowed response.
import { InjectError } from '../../src/inject/pod-settings.ts';
import type { InjectOptions } from '../../src/inject/templates.ts';
import { injectObject } from '../../src/inject/workloads.ts';

export interface AdmissionResponse {
  uid: string;
  allowed: true;
  patchType?: 'JSONPatch';
  patch?: string;
  warnings?: string[];
}

export interface AdmissionReviewOut {
  apiVersion: string;
  kind: 'AdmissionReview';
  response: AdmissionResponse;
}

/** What the webhook decided, for its log. */
export interface ReviewResult {
  readonly review: AdmissionReviewOut;
  readonly summary: string;
}

export class BadReview extends Error {}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const VERSIONS = ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1'];

/**
 * Builds the AdmissionReview response for `body` (parsed JSON). Throws BadReview only when no response can be
 * addressed (not an AdmissionReview, or no request.uid); everything else is allowed, with a warning when not injected
 * for a reason the user should see.
 */
export function reviewAdmission(body: unknown, opts: InjectOptions): ReviewResult {
  if (!isObj(body) || body.kind !== 'AdmissionReview') throw new BadReview('the body is not an AdmissionReview (kind: AdmissionReview expected)');
  const apiVersion = typeof body.apiVersion === 'string' && VERSIONS.includes(body.apiVersion) ? body.apiVersion : null;
  if (!apiVersion) throw new BadReview(`unsupported AdmissionReview apiVersion ${JSON.stringify(body.apiVersion)} (expected admission.k8s.io/v1)`);
  const request = body.request;
  if (!isObj(request) || typeof request.uid !== 'string' || request.uid === '') throw new BadReview('the AdmissionReview has no request.uid');
  const uid = request.uid;
  const answer = (summary: string, extra: Partial<AdmissionResponse> = {}): ReviewResult => ({
    review: { apiVersion, kind: 'AdmissionReview', response: { uid, allowed: true, ...extra } },
    summary,
  });
  const obj = request.object;
  const ns = typeof request.namespace === 'string' ? request.namespace : '';
  if (!isObj(obj)) return answer('no object', { warnings: ['pilotfish: sidecar not injected: the AdmissionReview request has no object'] });
  if (request.operation !== undefined && request.operation !== 'CREATE') return answer(`operation ${String(request.operation)} ignored`);
  // The API server may omit apiVersion/kind on the object; the request's kind says what it is.
  const kind = isObj(request.kind) ? request.kind : {};
  const withKind: Obj = {
    ...obj,
    apiVersion: obj.apiVersion ?? (kind.group ? `${String(kind.group)}/${String(kind.version)}` : String(kind.version ?? 'v1')),
    kind: obj.kind ?? kind.kind,
  };
  try {
    const r = injectObject(withKind, opts, `${String(withKind.kind)} in namespace "${ns}"`);
    const skipped = r.pods.filter((p) => !p.outcome.injected).map((p) => `${p.what}: ${p.outcome.injected ? '' : p.outcome.reason}`);
    if (r.ops.length === 0) {
      return answer(r.pods.length === 0 ? `kind ${String(withKind.kind)} has no pod template` : `not injected: ${skipped.join('; ')}`);
    }
    return answer(`injected ${r.pods.filter((p) => p.outcome.injected).map((p) => p.what).join(', ')}`, {
      patchType: 'JSONPatch',
      patch: Buffer.from(JSON.stringify(r.ops)).toString('base64'),
    });
  } catch (err) {
    // Never block a deployment, not even on our own bug.
    const message = err instanceof InjectError ? err.message : `internal error: ${(err as Error).message}`;
    return answer(`not injected: ${message}`, { warnings: [`pilotfish: sidecar not injected: ${message}`] });
  }
}
