// The demo's payments service: a gRPC server (@grpc/grpc-js) behind its sidecar's h2c inbound listener.
import * as grpc from '@grpc/grpc-js';
import { announceReady, onShutdown, portFromEnv } from './announce.ts';
import { paymentsService, type AuthorizeReply, type AuthorizeRequest } from './payments-proto.ts';

const port = portFromEnv();
let authorized = 0;

const server = new grpc.Server();
server.addService(paymentsService, {
  Authorize(call: grpc.ServerUnaryCall<AuthorizeRequest, AuthorizeReply>, callback: grpc.sendUnaryData<AuthorizeReply>) {
    if (!call.request.orderId) {
      callback({ code: grpc.status.INVALID_ARGUMENT, details: 'order_id is required' });
      return;
    }
    authorized++;
    callback(null, {
      orderId: call.request.orderId,
      approved: Number(call.request.amountCents) < 100_000,
      authorizationCode: `AUTH-${String(authorized).padStart(6, '0')}`,
      servedBy: 'payments',
      // Who called: the URI payments' sidecar put in x-forwarded-client-cert after verifying the mTLS client certificate.
      caller: /(?:^|;)URI=([^;,]+)/.exec(String(call.metadata.get('x-forwarded-client-cert').at(-1) ?? '').split(',').pop() ?? '')?.[1] ?? '',
    });
  },
});

server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => {
  if (err) {
    console.error(`payments: cannot listen on 127.0.0.1:${port}: ${err.message}`);
    process.exit(1);
  }
  announceReady('payments', bound);
});
onShutdown(() => new Promise<void>((resolve) => server.tryShutdown(() => resolve())));
