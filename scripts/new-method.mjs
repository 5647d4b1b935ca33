#!/usr/bin/env node
/**
 * `npm run new-method <name> [-- --family CR --tag CSL]`: scaffolds a method on the method
 * contract (docs/adding-a-method.md) and registers it.
 *
 * Writes src/methods/<name>.ts (a loss-only method: metadata, params schema, loss), its test
 * skeleton test/methods/<name>.test.ts and a recipe recipes/fashion-lt/<name>.yaml, and adds the
 * import and the registry entry between the `new-method` markers of src/methods/registry.ts. It
 * never overwrites a file: an existing name is an error (exit 2). `--root <dir>` works on another
 * checkout (the tests use a scratch copy).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const FAMILIES = ['baseline', 'CR', 'IA', 'MI'];
const TAGS = ['Baseline', 'Sampling', 'CSL', 'LA', 'TL', 'Aug', 'RL', 'CD', 'DT', 'Ensemble'];

function fail(message) {
  process.stderr.write(`new-method: ${message}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const out = { name: null, family: 'CR', tags: ['CSL'], root: path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--family') out.family = argv[++i];
    else if (a === '--tag' || a === '--tags') out.tags = String(argv[++i]).split(',');
    else if (a === '--root') out.root = path.resolve(argv[++i]);
    else if (a.startsWith('-')) fail(`unknown option ${a}; usage: npm run new-method <name> [-- --family CR --tag CSL,LA]`);
    else if (out.name === null) out.name = a;
    else fail(`one method name expected, got also "${a}"`);
  }
  if (!out.name) fail('usage: npm run new-method <name> [-- --family CR --tag CSL,LA]');
  if (!/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(out.name)) fail(`method name "${out.name}": expected kebab-case (lower-case letters, digits, single dashes), e.g. my-loss`);
  if (!FAMILIES.includes(out.family)) fail(`--family ${out.family}: expected one of ${FAMILIES.join(', ')}`);
  for (const t of out.tags) if (!TAGS.includes(t)) fail(`--tag ${t}: expected one of ${TAGS.join(', ')}`);
  return out;
}

/** my-new-loss → myNewLoss */
function camel(name) {
  return name.replace(/-([a-z0-9])/g, (_, c) => c.toUpperCase());
}

function writeNew(file, text) {
  if (existsSync(file)) fail(`${file} exists; pick another name (nothing was written)`);
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

function methodFile(name, family, tags) {
  const id = `${camel(name)}Method`;
  const params = `${camel(name)}Params`;
  return `/**
 * ${name}: TODO one paragraph — the paper, the official code this file follows (repository and
 * file), and every deviation from it.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import type { Method } from './types.js';
import { parseParams } from './setup.js';

export const ${params} = z
  .object({
    // TODO: the method's hyper-parameters with the official defaults.
    scale: z.number().positive().default(1).describe('TODO: what it does, and where the default comes from'),
  })
  .strict();

export const ${id}: Method = {
  name: '${name}',
  family: '${family}',
  tags: [${tags.map((t) => `'${t}'`).join(', ')}],
  summary: 'TODO: one line for \`lt-bench methods\`.',
  citation: { paper: 'TODO: authors, "title", venue year', code: 'TODO: owner/repo path/to/file.py' },
  params: ${params},
  // Table placement: the paper's row it fills (\`paper: '<survey-tables.json key>'\`), or the row it
  // follows (\`after\`); params that split the row go in \`splitBy\` with their default.
  table: { rows: [{}] },
  create(setup) {
    const params = parseParams('${name}', ${params}, setup);
    const C = setup.numClasses;
    return {
      // Only the loss is required; every other hook (model, streams, transforms, hooks, stages,
      // prediction, post-hoc steps) has a plain default. See docs/adding-a-method.md.
      loss: (output, labels) =>
        tf.tidy(() => {
          // TODO: the method's loss. Placeholder: softmax cross-entropy of scale · logits.
          const logProbs = tf.logSoftmax(tf.mul(output.logits, params.scale));
          return tf.neg(tf.mean(tf.sum(tf.mul(tf.oneHot(labels, C).toFloat(), logProbs), 1))) as tf.Scalar;
        }),
    };
  },
};
`;
}

function testFile(name) {
  const id = `${camel(name)}Method`;
  return `/**
 * ${name}: TODO hand-computed values of the loss (and of every other hook the method defines).
 */
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { getMethod } from '../../src/methods/registry.js';
import { ${id} } from '../../src/methods/${name}.js';

const COUNTS = [60, 20, 5];

before(async () => {
  await tf.setBackend('cpu');
});

describe('${name}', () => {
  it('is registered under its name', () => {
    assert.equal(getMethod('${name}'), ${id});
  });

  it('loss on a hand example', () => {
    const inst = ${id}.create({ classCounts: COUNTS, numClasses: COUNTS.length, params: {}, epochs: 10 });
    const value = tf.tidy(() =>
      inst.loss({ logits: tf.zeros([1, 3]) as tf.Tensor2D, features: tf.zeros([1, 1]) as tf.Tensor2D }, tf.tensor1d([0], 'int32'), { epoch: 0, epochs: 10 }).dataSync()[0],
    );
    // TODO: replace with the value computed by hand for the method's loss (zero logits: log C for CE).
    assert.ok(Math.abs(value - Math.log(3)) < 1e-6, String(value));
  });
});
`;
}

function recipeFile(name) {
  return `# ${name} on the Fashion-MNIST-LT mini-study (the same setting as every fashion-lt recipe).
extends: ../_base/fashion-lt-study.yaml
method:
  name: ${name}
`;
}

function register(registryFile, name) {
  let text = readFileSync(registryFile, 'utf8');
  const id = `${camel(name)}Method`;
  const importLine = `import { ${id} } from './${name}.js';\n`;
  const endImports = '// new-method: end imports\n';
  const endEntries = '  // new-method: end entries\n';
  if (!text.includes(endImports) || !text.includes(endEntries)) fail(`${registryFile}: the new-method markers are missing; register ${id} by hand`);
  if (text.includes(importLine)) fail(`${registryFile}: ${name} is already registered`);
  text = text.replace(endImports, importLine + endImports).replace(endEntries, `  ${id},\n${endEntries}`);
  const tmp = `${registryFile}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, registryFile);
}

const args = parseArgs(process.argv.slice(2));
const { name, root } = args;
const files = {
  method: path.join(root, 'src', 'methods', `${name}.ts`),
  test: path.join(root, 'test', 'methods', `${name}.test.ts`),
  recipe: path.join(root, 'recipes', 'fashion-lt', `${name}.yaml`),
};
const registryFile = path.join(root, 'src', 'methods', 'registry.ts');
if (!existsSync(registryFile)) fail(`${registryFile} not found (use --root <checkout>)`);
for (const f of Object.values(files)) if (existsSync(f)) fail(`${f} exists; pick another name (nothing was written)`);
writeNew(files.method, methodFile(name, args.family, args.tags));
writeNew(files.test, testFile(name));
writeNew(files.recipe, recipeFile(name));
register(registryFile, name);
for (const f of [...Object.values(files), registryFile]) process.stdout.write(`${path.relative(root, f)}\n`);
process.stderr.write(`new-method: ${name} scaffolded and registered; fill in the TODOs, then npm test (see docs/adding-a-method.md)\n`);
