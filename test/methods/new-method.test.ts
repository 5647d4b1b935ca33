/**
 * `npm run new-method <name>` (scripts/new-method.mjs) on a scratch copy of the registry: writes
 * the method file, its test skeleton and a recipe, registers the method between the markers, and
 * refuses bad names and existing files without writing anything.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../foundation/helpers.js';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..', '..');
const script = path.join(root, 'scripts', 'new-method.mjs');

function scratch(): string {
  const dir = tempDir('lt-bench-new-method-');
  mkdirSync(path.join(dir, 'src', 'methods'), { recursive: true });
  copyFileSync(path.join(root, 'src', 'methods', 'registry.ts'), path.join(dir, 'src', 'methods', 'registry.ts'));
  return dir;
}

const run = (args: string[]) => spawnSync(process.execPath, [script, ...args], { encoding: 'utf8' });

test('new-method writes the method, test and recipe and registers the method last', () => {
  const dir = scratch();
  const r = run(['my-loss', '--root', dir, '--family', 'CR', '--tag', 'CSL,LA']);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), ['src/methods/my-loss.ts', 'test/methods/my-loss.test.ts', 'recipes/fashion-lt/my-loss.yaml', 'src/methods/registry.ts']);
  const method = readFileSync(path.join(dir, 'src/methods/my-loss.ts'), 'utf8');
  assert.match(method, /export const myLossMethod: Method = \{\n  name: 'my-loss',\n  family: 'CR',\n  tags: \['CSL', 'LA'\],/);
  assert.match(readFileSync(path.join(dir, 'test/methods/my-loss.test.ts'), 'utf8'), /getMethod\('my-loss'\), myLossMethod/);
  assert.match(readFileSync(path.join(dir, 'recipes/fashion-lt/my-loss.yaml'), 'utf8'), /method:\n  name: my-loss\n/);
  const registry = readFileSync(path.join(dir, 'src/methods/registry.ts'), 'utf8');
  // Last: after whichever method was registered last before it.
  assert.match(registry, /import \{ \w+Method \} from '\.\/[\w-]+\.js';\nimport \{ myLossMethod \} from '\.\/my-loss\.js';\n\/\/ new-method: end imports/);
  assert.match(registry, / {2}\w+Method,\n {2}myLossMethod,\n {2}\/\/ new-method: end entries/);
  // A second run with the same name writes nothing and exits 2.
  const again = run(['my-loss', '--root', dir]);
  assert.equal(again.status, 2);
  assert.match(again.stderr, /my-loss\.ts exists; pick another name \(nothing was written\)/);
  assert.equal(readFileSync(path.join(dir, 'src/methods/registry.ts'), 'utf8'), registry);
});

test('new-method refuses a name that is not kebab-case and an unknown tag (exit 2, nothing written)', () => {
  const dir = scratch();
  const bad = run(['MyLoss', '--root', dir]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /method name "MyLoss": expected kebab-case/);
  const tag = run(['ok-name', '--root', dir, '--tag', 'Nope']);
  assert.equal(tag.status, 2);
  assert.match(tag.stderr, /--tag Nope: expected one of Baseline, Sampling/);
  assert.equal(existsSync(path.join(dir, 'src/methods/ok-name.ts')), false);
});
