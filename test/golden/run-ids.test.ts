/**
 * Every shipped recipe keeps the recipe hash and run id (its stage-1 and balanced reference runs'
 * too) it had before the run-lifecycle and method-contract refactor, so old records stay reused
 * and resumable. run-ids.json was written by scripts/golden-run-ids.ts on the commit before it.
 * A recipe added later has no golden entry and is not checked; removing or changing a shipped
 * recipe on purpose means regenerating its entry, with the reason in the commit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { goldenIds, type GoldenIds } from './golden-ids.js';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..', '..');
const golden = JSON.parse(readFileSync(path.join(root, 'test/golden/run-ids.json'), 'utf8')) as Record<string, GoldenIds>;

test('the golden file covers the shipped recipes of its day and has run ids for Fashion-MNIST recipes', () => {
  assert.ok(Object.keys(golden).length >= 100);
  assert.ok(Object.values(golden).filter((g) => g.runId !== null).length >= 40);
});

for (const [rel, expected] of Object.entries(golden)) {
  test(`golden ids: ${rel}`, () => {
    assert.deepEqual(goldenIds(path.join(root, rel)), expected);
  });
}
