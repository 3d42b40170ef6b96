// `pilotfish sidecar --xds-root-cert`: the flag and its default file, the google_grpc ssl_credentials bootstrap it emits, and how the xDS client reads that shape.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { compileBootstrap } from '../../src/model/compile-bootstrap.ts';
import { formatConfigError } from '../../src/model/compile-context.ts';
import { DEFAULT_XDS_ROOT_CERT, parseSidecarArgs } from '../../src/sidecar/sidecar-args.ts';
import { sidecarBootstrap } from '../../src/sidecar/sidecar-bootstrap.ts';
import { proxyArgs } from '../../src/sidecar/sidecar-command.ts';
import { openAdsChannel } from '../../src/xds/ads-transport.ts';
import { parseDynamicResources } from '../../src/xds/bootstrap-dynamic.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pilotfish-sidecar-tls-'));
const ROOT = path.join(dir, 'root-cert.pem');
fs.writeFileSync(ROOT, 'not parsed here');
const BASE = ['--service', 'orders', '--address', '10.1.0.5', '--interception', 'none'];

function parse(argv: string[], env: Record<string, string> = {}, exists: (f: string) => boolean = fs.existsSync) {
  return parseSidecarArgs([...BASE, ...argv], env, exists);
}

describe('sidecar --xds-root-cert', () => {
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('takes the flag or PILOTFISH_XDS_ROOT_CERT, defaults to the mounted ConfigMap when it exists, and "none" turns it off', () => {
    const flag = parse(['--xds-address', 'cp.mesh.svc:15012', '--xds-root-cert', ROOT]);
    assert.ok(flag.ok && flag.options.xdsRootCert === ROOT);
    const env = parse([], { PILOTFISH_XDS_ADDRESS: 'cp.mesh.svc:15012', PILOTFISH_XDS_ROOT_CERT: ROOT });
    assert.ok(env.ok && env.options.xdsRootCert === ROOT);
    const mounted = parse(['--xds-address', 'cp.mesh.svc:15012'], {}, (f) => f === DEFAULT_XDS_ROOT_CERT);
    assert.ok(mounted.ok && mounted.options.xdsRootCert === '/var/run/secrets/pilotfish/root-cert.pem');
    const none = parse(['--xds-address', '127.0.0.1:15010', '--xds-root-cert', 'none'], {}, () => true);
    assert.ok(none.ok && none.options.xdsRootCert === null);
    const loopback = parse(['--xds-address', '127.0.0.1:15010'], {}, () => false);
    assert.ok(loopback.ok && loopback.options.xdsRootCert === null, 'plaintext stays the default on loopback');
  });

  it('refuses a missing root file, and a CA off loopback without a root (instead of failing later)', () => {
    const missing = parse(['--xds-address', 'cp:15012', '--xds-root-cert', path.join(dir, 'nope.pem')]);
    assert.ok(!missing.ok);
    assert.equal(missing.error, `--xds-root-cert: ${path.join(dir, 'nope.pem')} does not exist (the control plane's root certificate; "none" for plaintext)`);
    const envMissing = parse([], { PILOTFISH_XDS_ADDRESS: 'cp:15012', PILOTFISH_XDS_ROOT_CERT: '/nope.pem' });
    assert.ok(!envMissing.ok && envMissing.error.startsWith('PILOTFISH_XDS_ROOT_CERT: /nope.pem does not exist'));
    const plain = parse(['--xds-address', 'pilotfish-control-plane.pilotfish-system.svc:15010'], {}, () => false);
    assert.ok(!plain.ok);
    assert.match(plain.error, /^the CA address pilotfish-control-plane\.pilotfish-system\.svc:15010 is not on loopback: give the control plane's root certificate \(--xds-root-cert or PILOTFISH_XDS_ROOT_CERT\)/);
    const noCa = parse(['--xds-address', 'cp:15010', '--ca-address', 'none'], {}, () => false);
    assert.ok(noCa.ok, 'without a CA there is no token to protect');
  });

  it('emits google_grpc ssl_credentials (root file by name) that the proxy compiles and the xDS client reads; the CA gets the same root', () => {
    const r = parse(['--xds-address', 'pilotfish-control-plane.pilotfish-system.svc:15012', '--xds-root-cert', ROOT]);
    assert.ok(r.ok);
    const b = sidecarBootstrap(r.options);
    const ads = (b.dynamic_resources as { ads_config: { grpc_services: unknown[] } }).ads_config;
    assert.deepEqual(ads.grpc_services, [{
      google_grpc: { target_uri: 'pilotfish-control-plane.pilotfish-system.svc:15012', stat_prefix: 'xds', channel_credentials: { ssl_credentials: { root_certs: { filename: ROOT } } } },
    }]);
    assert.deepEqual((b.static_resources as { clusters: unknown[] }).clusters, []);
    const c = compileBootstrap(b, { readFile: () => { throw new Error('no files'); } });
    assert.ok(c.ok, c.ok ? '' : c.errors.map(formatConfigError).join('\n'));
    const d = parseDynamicResources(b);
    assert.ok(d.ok && d.value);
    assert.equal(d.value.target, 'pilotfish-control-plane.pilotfish-system.svc:15012');
    assert.deepEqual(d.value.sslCredentials, { rootCerts: { filename: ROOT }, privateKey: null, certChain: null });
    const args = proxyArgs(r.options, '/tmp/admin');
    assert.deepEqual(args.slice(args.indexOf('--ca-address'), args.indexOf('--ca-address') + 4),
      ['--ca-address', 'pilotfish-control-plane.pilotfish-system.svc:15012', '--ca-root-cert', ROOT]);
    // Plaintext keeps the envoy_grpc xds_cluster.
    const p = parse(['--xds-address', '127.0.0.1:15010'], {}, () => false);
    assert.ok(p.ok);
    assert.deepEqual((sidecarBootstrap(p.options).dynamic_resources as { ads_config: { grpc_services: unknown[] } }).ads_config.grpc_services,
      [{ envoy_grpc: { cluster_name: 'xds_cluster' } }]);
    assert.ok(!proxyArgs(p.options, '/tmp/admin').includes('--ca-root-cert'));
  });

  it('bad channel_credentials are named field by field; an unreadable root file fails opening the channel with the file named', () => {
    const boot = (creds: unknown) => ({
      dynamic_resources: {
        ads_config: { api_type: 'GRPC', grpc_services: [{ google_grpc: { target_uri: 'cp:15012', stat_prefix: 'xds', channel_credentials: creds } }] },
        lds_config: { ads: {} },
      },
    });
    const bad = parseDynamicResources(boot({ ssl_credentials: { root_certs: {}, private_key: { filename: '/k' } }, google_default: {} }));
    assert.ok(!bad.ok);
    assert.deepEqual(bad.errors, [
      'bootstrap: dynamic_resources.ads_config.grpc_services[0].google_grpc.channel_credentials.google_default: is not supported',
      'bootstrap: dynamic_resources.ads_config.grpc_services[0].google_grpc.channel_credentials.ssl_credentials.root_certs: one of filename, inline_string or inline_bytes is required',
      'bootstrap: dynamic_resources.ads_config.grpc_services[0].google_grpc.channel_credentials.ssl_credentials: private_key and cert_chain go together',
    ]);
    const ok = parseDynamicResources(boot({ ssl_credentials: { root_certs: { filename: path.join(dir, 'gone.pem') } } }));
    assert.ok(ok.ok && ok.value);
    assert.throws(() => openAdsChannel(ok.value!, null), { message: `xDS TLS: cannot read root_certs ${path.join(dir, 'gone.pem')}: ENOENT` });
  });
});
