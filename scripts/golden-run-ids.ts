/**
 * Writes test/golden/run-ids.json: for every shipped recipe, its recipe hash and (where its data
 * is at hand: Fashion-MNIST, synthetic) its run id, with the same for its stage-1 run and its
 * balanced reference runs. Taken once before the lifecycle/method-contract refactor; the golden
 * test (test/golden/run-ids.test.ts) keeps every later change from moving an id.
 *
 *   node dist/scripts/golden-run-ids.js > test/golden/run-ids.json
 */
import { glob } from 'tinyglobby';
import path from 'node:path';
import { goldenIds } from '../test/golden/golden-ids.js';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const files = (await glob('recipes/**/*.yaml', { cwd: root })).filter((f) => !f.split('/').includes('_base')).sort();
const out: Record<string, unknown> = {};
for (const f of files) out[f] = goldenIds(path.join(root, f));
process.stdout.write(`${JSON.stringify(out, null, 1)}\n`);
