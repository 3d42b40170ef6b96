// Envoy's path normalization steps (normalize_path, merge_slashes, path_with_escaped_slashes_action) on their own.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizePath, pathMayChange } from '../../src/http/path-normalize.ts';

describe('normalizePath', () => {
  const norm = { normalizePath: true, mergeSlashes: false };
  it('removes dot segments, also percent-encoded ones, and keeps the query', () => {
    assert.equal(normalizePath('/public/../admin/x', norm).path, '/admin/x');
    assert.equal(normalizePath('/public/%2e%2E/admin/x?a=/../b', norm).path, '/admin/x?a=/../b');
    assert.equal(normalizePath('/a/./b/.', norm).path, '/a/b/');
    assert.equal(normalizePath('/../../x', norm).path, '/x');
    assert.equal(normalizePath('/a/..', norm).path, '/');
    assert.equal(normalizePath('/a\\..\\b', norm).path, '/b');
  });
  it('decodes unreserved escapes only', () => {
    assert.equal(normalizePath('/%41dmin/%7e%2F%3a', norm).path, '/Admin/~%2F%3a');
  });
  it('rejects invalid percent-encoding', () => {
    assert.equal(normalizePath('/a%zz', norm).outcome, 'reject');
    assert.equal(normalizePath('/a%2', norm).outcome, 'reject');
  });
  it('merges slashes after normalizing', () => {
    assert.equal(normalizePath('//a///b/%2e/c', { normalizePath: true, mergeSlashes: true }).path, '/a/b/c');
    assert.equal(normalizePath('//a//b?x=//', { normalizePath: false, mergeSlashes: true }).path, '/a/b?x=//');
  });
  it('handles escaped slashes per path_with_escaped_slashes_action', () => {
    const p = '/public%2f..%2Fadmin/x';
    assert.equal(normalizePath(p, { ...norm, pathWithEscapedSlashesAction: 'KEEP_UNCHANGED' }).path, p);
    assert.equal(normalizePath(p, { ...norm, pathWithEscapedSlashesAction: 'REJECT_REQUEST' }).outcome, 'reject');
    assert.deepEqual(normalizePath(p, { ...norm, pathWithEscapedSlashesAction: 'UNESCAPE_AND_FORWARD' }), { outcome: 'continue', path: '/admin/x' });
    assert.deepEqual(normalizePath(p, { ...norm, pathWithEscapedSlashesAction: 'UNESCAPE_AND_REDIRECT' }), { outcome: 'redirect', path: '/admin/x' });
    assert.equal(normalizePath('/a%5cb', { normalizePath: false, mergeSlashes: false, pathWithEscapedSlashesAction: 'UNESCAPE_AND_FORWARD' }).path, '/a\\b');
  });
  it('drops the fragment; the fast check passes plain paths', () => {
    assert.equal(normalizePath('/a/b#/../c', norm).path, '/a/b');
    assert.equal(pathMayChange('/api/v1/users/42?x=1'), false);
    assert.equal(pathMayChange('/api/./x'), true);
    assert.equal(pathMayChange('/api//x'), true);
    assert.equal(pathMayChange('/api%2fx'), true);
  });
});
