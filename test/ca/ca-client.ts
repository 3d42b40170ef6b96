// A real @grpc/grpc-js client for pilotfish.ca.v1.CertificateService, loaded from xds/ca/ca.proto as a sidecar would.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { CA_PROTO_PATH, type CreateCertificateResponse } from '../../xds/ca/ca-service.ts';

type Unary = (req: unknown, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: CreateCertificateResponse) => void) => void;

export class CaClient {
  private readonly client: grpc.Client & { CreateCertificate: Unary };

  private constructor(client: grpc.Client & { CreateCertificate: Unary }) {
    this.client = client;
  }

  static async connect(port: number): Promise<CaClient> {
    const def = await protoLoader.load(CA_PROTO_PATH, { keepCase: true, longs: String, defaults: true });
    const pkg = grpc.loadPackageDefinition(def) as unknown as { pilotfish: { ca: { v1: { CertificateService: grpc.ServiceClientConstructor } } } };
    const Ctor = pkg.pilotfish.ca.v1.CertificateService;
    return new CaClient(new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & { CreateCertificate: Unary });
  }

  /** CreateCertificate with `authorization: Bearer <token>` when a token is given. */
  create(csr: string, token: string | null, validitySeconds = 0): Promise<CreateCertificateResponse> {
    const md = new grpc.Metadata();
    if (token !== null) md.set('authorization', `Bearer ${token}`);
    return new Promise((resolve, reject) => {
      this.client.CreateCertificate({ csr, validity_duration: String(validitySeconds) }, md, { deadline: Date.now() + 10_000 }, (err, res) => (err ? reject(err) : resolve(res)));
    });
  }

  close(): void {
    this.client.close();
  }
}

/** Asserts-friendly: the gRPC status code and details of a failed call. */
export async function grpcError(p: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await p;
  } catch (err) {
    const e = err as grpc.ServiceError;
    return { code: e.code, details: e.details };
  }
  throw new Error('the call succeeded');
}
