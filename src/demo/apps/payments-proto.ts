// Loads the demo's payments.proto with @grpc/proto-loader and exposes the typed service pieces both sides use.
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export interface AuthorizeRequest { orderId: string; amountCents: string | number }
export interface AuthorizeReply { orderId: string; approved: boolean; authorizationCode: string; servedBy: string; caller: string }

export const PROTO_PATH = fileURLToPath(new URL('../payments.proto', import.meta.url));

const definition = protoLoader.loadSync(PROTO_PATH, { keepCase: false, longs: String, defaults: true });
const pkg = grpc.loadPackageDefinition(definition) as unknown as {
  demo: { payments: { v1: { Payments: grpc.ServiceClientConstructor } } };
};

export const PaymentsClient = pkg.demo.payments.v1.Payments;
export const paymentsService: grpc.ServiceDefinition = PaymentsClient.service;
