// The input watcher keeps reporting a file that editors replace by rename, inside a watched directory tree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { watchInputs } from '../../xds/watch.ts';

function nextChange(changes: { wait: (() => void) | null }): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no change reported within 10 s')), 10_000);
    changes.wait = () => { clearTimeout(t); resolve(); };
  });
}

test('a directory input: saves by rename keep being reported, also in subdirectories created later', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pilotfish-watch-'));
  const file = path.join(dir, 'orders.yaml');
  writeFileSync(file, 'a: 1\n');
  const changes: { wait: (() => void) | null } = { wait: null };
  const w = await watchInputs([dir], () => { const cb = changes.wait; changes.wait = null; cb?.(); }, pino({ level: 'silent' }), 20);
  try {
    for (let i = 2; i <= 4; i++) {
      const seen = nextChange(changes);
      writeFileSync(`${file}.tmp`, `a: ${i}\n`);
      renameSync(`${file}.tmp`, file); // how sed -i and most editors save
      await seen;
    }
    const sub = path.join(dir, 'more');
    let seen = nextChange(changes);
    mkdirSync(sub);
    await seen;
    // Give the watcher a moment to start watching the new directory: wait for a change reported from inside it.
    for (let attempt = 0; ; attempt++) {
      seen = nextChange(changes);
      writeFileSync(path.join(sub, `x${attempt}.yaml`), 'b: 1\n');
      try { await seen; break; } catch (e) { if (attempt >= 2) throw e; }
    }
  } finally {
    w.close();
  }
});
