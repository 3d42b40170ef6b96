// Shared helpers for control-plane tests: YAML builders, temp input dirs, a started control plane and event waits.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { EventEmitter } from 'node:events';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import type protobuf from 'protobufjs';
import { startControlPlane, type ControlPlane } from '../../xds/control-plane.ts';
import { withTimeout } from '../helpers/wait.ts';

export const silent = pino({ level: 'silent' });

export function service(name: string, ports: string, namespace = 'default'): string {
  return `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}, namespace: ${namespace}}\nspec:\n  ports: ${ports}\n---\n`;
}

export function slice(svc: string, addresses: string[], portName: string, port: number, name = `${svc}-1`): string {
  return `apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: ${name}, labels: {kubernetes.io/service-name: ${svc}}}\naddressType: IPv4\n`
    + `endpoints: [${addresses.map((a) => `{addresses: [${a}]}`).join(', ')}]\nports: [{name: ${portName}, port: ${port}}]\n---\n`;
}

export class InputDir {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'pilotfish-cp-'));

  write(name: string, text: string): string {
    const p = path.join(this.dir, name);
    writeFileSync(p, text);
    return p;
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function startCp(inputs: string[], watch = false): Promise<ControlPlane> {
  return startControlPlane({ inputs, xdsAddress: '127.0.0.1:0', statusAddress: '127.0.0.1:0', logger: silent, watch });
}

/** Resolves with the first `event` whose payload satisfies `pred`. */
export function nextEvent<T>(emitter: EventEmitter, event: string, pred: (v: T) => boolean = () => true, ms = 5000): Promise<T> {
  let handler!: (v: T) => void;
  const p = new Promise<T>((resolve) => {
    handler = (v: T) => {
      if (!pred(v)) return;
      emitter.off(event, handler);
      resolve(v);
    };
    emitter.on(event, handler);
  });
  return withTimeout(p, ms, `event ${event}`).finally(() => emitter.off(event, handler));
}

export async function getJson(port: number, p: string): Promise<{ status: number; body: any }> {
  const r = await fetch(`http://127.0.0.1:${port}${p}`);
  const text = await r.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch { /* plain text */ }
  return { status: r.status, body };
}

/**
 * Asserts every key of a proto-JSON object names a field of `typeName` (recursing into messages, maps and "@type" Anys),
 * so a misspelled field cannot vanish silently in protobufjs fromObject.
 */
export function assertKnownFields(root: protobuf.Root, typeName: string, obj: unknown, where = typeName): void {
  const type = root.lookupType(typeName);
  if (obj === null || typeof obj !== 'object') throw new Error(`${where}: expected an object`);
  for (const [k, v] of Object.entries(obj)) {
    if (k === '@type') continue;
    const f = type.fields[k];
    if (!f) throw new Error(`${where}: unknown field "${k}" in ${type.fullName}`);
    f.resolve();
    if (!f.resolvedType || !('fields' in f.resolvedType)) continue;
    const sub = f.resolvedType as protobuf.Type;
    const check = (x: unknown, w: string) => {
      if (sub.fullName === '.google.protobuf.Any') {
        const t = (x as { '@type'?: string })['@type'];
        if (!t) throw new Error(`${w}: Any without @type`);
        assertKnownFields(root, t.slice(t.lastIndexOf('/') + 1), x, w);
      } else assertKnownFields(root, sub.fullName.slice(1), x, w);
    };
    if (f.map) for (const [mk, mv] of Object.entries(v as object)) check(mv, `${where}.${k}[${mk}]`);
    else if (f.repeated) (v as unknown[]).forEach((x, i) => check(x, `${where}.${k}[${i}]`));
    else check(v, `${where}.${k}`);
  }
}
