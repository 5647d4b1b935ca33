/**
 * `import … from 'lt-bench/losses'`: the losses for a user's own tfjs training loop, and the seeded
 * generator ESQL's masks take. Loads tfjs and the loss modules only: no runner, data pipeline,
 * models or sharp (test/package/entries.test.ts checks the module graph).
 */
export * from './losses/index.js';
export { Rng } from './rng.js';
