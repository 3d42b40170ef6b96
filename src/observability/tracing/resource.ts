// The OpenTelemetry resource of this sidecar's spans: service.name is the workload's service, with namespace and pod attributes.
import { defaultResource, detectResources, resourceAttributesEnvDetector, resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import type { MeshIdentity } from '../mesh-identity.ts';

/**
 * service.name: the provider's service_name, else OTEL_SERVICE_NAME, else the node's service. Attributes from
 * OTEL_RESOURCE_ATTRIBUTES come underneath ours.
 */
export function meshResource(id: MeshIdentity, serviceName: string | null, env: NodeJS.ProcessEnv = process.env): Resource {
  const attrs: Record<string, string> = {
    'service.name': serviceName ?? (env.OTEL_SERVICE_NAME || id.service),
    'service.namespace': id.namespace,
    'k8s.namespace.name': id.namespace,
  };
  if (id.pod !== null) attrs['k8s.pod.name'] = id.pod;
  const instance = id.pod ?? id.nodeId;
  if (instance !== '') attrs['service.instance.id'] = instance;
  return defaultResource()
    .merge(detectResources({ detectors: [resourceAttributesEnvDetector] }))
    .merge(resourceFromAttributes(attrs));
}
