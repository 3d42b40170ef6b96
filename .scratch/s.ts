import * as protoLoader from '@grpc/proto-loader';
import { ADS_LOADER_OPTIONS } from '../xds/server/ads-proto.ts';
import { jsonToStruct } from '../xds/testing/ads-client.ts';
const def = await protoLoader.load('envoy/service/discovery/v3/ads.proto', ADS_LOADER_OPTIONS);
const m = def['envoy.service.discovery.v3.AggregatedDiscoveryService'] as any;
const s = m.StreamAggregatedResources;
const buf = s.requestSerialize({ node: { id: 'x', metadata: jsonToStruct({ pilotfish: { service: 'a', n: 3, l: [1] } }) } });
console.log(JSON.stringify(s.requestDeserialize(buf).node.metadata, null, 1));
