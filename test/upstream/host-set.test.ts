// HostSet tests: building hosts from a load assignment, identity across updates, priorities and weights.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HostSet, hostKey, specsFromLoadAssignment } from '../../src/upstream/host-set.ts';
import { assignment } from './fixtures.ts';

test('hosts are built from the load assignment with keys, weights and health', () => {
  const set = new HostSet();
  set.update(specsFromLoadAssignment(assignment('c', [
    { host: '10.0.0.1', port: 80, weight: 3 },
    { host: '::1', port: 8080, health: 'UNHEALTHY' },
  ])));
  const [a, b] = set.all();
  assert.equal(a.key, '10.0.0.1:80');
  assert.equal(a.weight, 3);
  assert.equal(b.key, '[::1]:8080');
  assert.equal(b.health, 'UNHEALTHY');
  assert.equal(hostKey('fe80::1', 1), '[fe80::1]:1');
  assert.equal(a.activeRequests + a.rqTotal + a.rqError + a.cxConnectFail, 0);
});

test('same key keeps the same Host object (and its counters) across updates', () => {
  const set = new HostSet();
  set.update(specsFromLoadAssignment(assignment('c', [{ host: '10.0.0.1', port: 80 }, { host: '10.0.0.2', port: 80 }])));
  const [a, b] = set.all();
  a.rqTotal = 7;
  const change = set.update(specsFromLoadAssignment(assignment('c', [{ host: '10.0.0.1', port: 80, weight: 2 }, { host: '10.0.0.3', port: 80 }])));
  assert.equal(set.get('10.0.0.1:80'), a);
  assert.equal(a.rqTotal, 7);
  assert.equal(a.weight, 2);
  assert.deepEqual(change.removed, [b]);
  assert.equal(change.changed, true);
  assert.equal(set.has(b), false);
  const same = set.update(specsFromLoadAssignment(assignment('c', [{ host: '10.0.0.1', port: 80, weight: 2 }, { host: '10.0.0.3', port: 80 }])));
  assert.equal(same.changed, false);
  assert.equal(same.removed.length, 0);
});

test('only the lowest priority with a healthy host is active', () => {
  const set = new HostSet();
  set.update(specsFromLoadAssignment(assignment('c', [
    { host: '10.0.0.1', port: 80, priority: 0 },
    { host: '10.0.1.1', port: 80, priority: 1 },
  ])));
  assert.deepEqual(set.active().map((h) => h.key), ['10.0.0.1:80']);
  assert.equal(set.all().length, 2);
  set.update(specsFromLoadAssignment(assignment('c', [
    { host: '10.0.0.1', port: 80, priority: 0, health: 'UNHEALTHY' },
    { host: '10.0.1.1', port: 80, priority: 1 },
  ])));
  assert.deepEqual(set.active().map((h) => h.key), ['10.0.1.1:80']);
  set.update(specsFromLoadAssignment(assignment('c', [
    { host: '10.0.0.1', port: 80, priority: 0, health: 'UNHEALTHY' },
    { host: '10.0.1.1', port: 80, priority: 1, health: 'DRAINING' },
  ])));
  assert.deepEqual(set.active().map((h) => h.key), ['10.0.0.1:80'], 'no healthy priority: lowest one (panic)');
});
