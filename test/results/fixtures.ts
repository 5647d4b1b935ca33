/**
 * Hand-written run records for the results tests. Only the fields tables read carry meaning;
 * the rest are plausible constants so the records pass validation.
 */
import type { EvalMetrics, RunRecord, Table7Descriptor } from '../../src/results/types.js';
import { isImageListDataset } from '../../src/recipe/schema.js';

export interface FakeRun {
  runId: string;
  method: string;
  family?: string;
  params?: Record<string, unknown>;
  epochs: number;
  seed?: number;
  dataset?: string;
  balanced?: boolean;
  top1: number;
  groups?: [number | null, number | null, number | null];
  perClass?: number[];
  best?: number;
  vanilla?: string | null;
  methodBalanced?: string | null;
  recipePath?: string | null;
  ltBench?: string;
  gitCommit?: string | null;
  status?: RunRecord['status'];
  table7?: Table7Descriptor;
  backbone?: string;
  classCounts?: number[];
}

function metrics(top1: number, groups: [number | null, number | null, number | null], perClass: number[]): EvalMetrics {
  return { top1, perClass, groups: { head: groups[0], middle: groups[1], tail: groups[2] }, count: 100 };
}

export function fakeRecord(f: FakeRun): RunRecord {
  const groups = f.groups ?? [null, null, null];
  const perClass = f.perClass ?? [f.top1, f.top1, f.top1];
  const classCounts = f.classCounts ?? [100, 30, 5];
  const dataset = f.dataset ?? 'fashion-lt';
  // As runner.ts writes them: image-list datasets (ImageNet-LT, …) are split by their lists, so
  // their records carry profile 'none' and the ratio measured on the train counts.
  const lists = isImageListDataset(dataset);
  return {
    schemaVersion: 1,
    runId: f.runId,
    status: f.status ?? 'finished',
    recipeHash: `hash-${f.runId}`,
    recipePath: f.recipePath === undefined ? `recipes/test/${f.method}-e${f.epochs}.yaml` : f.recipePath,
    name: `test/${f.method}-e${f.epochs}`,
    method: { name: f.method, family: f.family ?? 'CR', tag: 'CSL', params: f.params ?? {} },
    backbone: f.backbone ?? 'resnet8',
    dataset: {
      name: dataset,
      profile: lists ? 'none' : 'exponential',
      imbalanceRatio: lists ? Math.max(...classCounts) / Math.min(...classCounts) : 20,
      balanced: f.balanced ?? false,
      splitSeed: 0,
      classCounts,
      groups: classCounts.map((c) => (c > 50 ? 'head' : c < 10 ? 'tail' : 'middle')),
      groupSizes: { head: 1, middle: 1, tail: 1 },
      thresholds: { head: 50, tail: 10 },
      splitChecksum: 'abc',
      sizes: { train: 135, val: 60, test: 300 },
      files: [],
    },
    seeds: { train: f.seed ?? 1, split: 0 },
    epochs: f.epochs,
    bestEpoch: f.epochs,
    metrics: {
      last: metrics(f.top1, groups, perClass),
      best: f.best === undefined ? null : metrics(f.best, groups, perClass),
      valLast: null,
    },
    reference:
      f.vanilla === undefined && f.methodBalanced === undefined
        ? null
        : { vanillaBalancedRunId: f.vanilla ?? null, methodBalancedRunId: f.methodBalanced ?? null, ua: null, ra: null },
    environment: {
      backend: 'cpu',
      device: 'cpu',
      node: 'v20',
      tfjs: '4.22.0',
      ltBench: f.ltBench ?? '0.1.0',
      gitCommit: f.gitCommit === undefined ? 'aaaaaaaaaaaaaaaa' : f.gitCommit,
      platform: 'linux',
      cpus: 2,
    },
    parameterCount: 1000,
    ...(f.table7 ? { table7: f.table7 } : {}),
    timing: { wallSeconds: 1, trainImagesPerSec: 1, startedAt: '2025-01-01T00:00:00Z', finishedAt: '2025-01-01T00:01:00Z' },
  };
}
