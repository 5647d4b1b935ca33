/**
 * Independent plain-JS arithmetic for the loss tests (no tfjs): the expected values and
 * gradients are computed here from the formulas, never from the code under test.
 */
import * as assert from 'node:assert/strict';

export type Matrix = number[][];

export function softmaxRow(z: number[]): number[] {
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

export function logSumExp(values: number[]): number {
  const m = Math.max(...values);
  return m + Math.log(values.reduce((a, v) => a + Math.exp(v - m), 0));
}

/** −log softmax(z)_y. */
export function ce(z: number[], y: number): number {
  return logSumExp(z) - z[y];
}

export function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

export function prior(counts: number[]): number[] {
  const total = counts.reduce((a, b) => a + b, 0);
  return counts.map((n) => n / total);
}

export function addRow(z: number[], offset: number[]): number[] {
  return z.map((v, j) => v + offset[j]);
}

/** Elementwise closeness with a relative-or-absolute tolerance, with a readable failure. */
export function assertClose(actual: number | number[] | Matrix, expected: number | number[] | Matrix, tol = 1e-5, what = ''): void {
  const a = [actual].flat(2) as number[];
  const e = [expected].flat(2) as number[];
  assert.equal(a.length, e.length, `${what}: length ${a.length} vs ${e.length}`);
  for (let i = 0; i < a.length; i++) {
    const ok = Math.abs(a[i] - e[i]) <= tol * Math.max(1, Math.abs(e[i]));
    assert.ok(ok, `${what}[${i}]: got ${a[i]}, expected ${e[i]} (tol ${tol})`);
  }
}
