/**
 * Dependency layers: the runs a sweep still has to train, grouped so that every run's
 * dependencies (a stage-2 run's stage 1, a pipeline stage's predecessor) sit in an earlier layer.
 * Each layer becomes one Slurm job array chained to the one before with `afterok`, so no job
 * polls for another. Runs already finished (action 'reuse') are left out; a dependency that is
 * finished does not hold a run back.
 */
import type { SweepRun } from '../sweep.js';

export function dependencyLayers(runs: SweepRun[]): SweepRun[][] {
  const pending = new Map(runs.filter((r) => r.action !== 'reuse').map((r) => [r.runId, r]));
  const depth = new Map<string, number>();
  const depthOf = (r: SweepRun, seen: Set<string>): number => {
    const known = depth.get(r.runId);
    if (known !== undefined) return known;
    if (seen.has(r.runId)) throw new Error(`internal: dependency cycle through run ${r.runId}`);
    seen.add(r.runId);
    let d = 0;
    for (const id of r.dependsOn) {
      const dep = pending.get(id);
      if (dep) d = Math.max(d, depthOf(dep, seen) + 1);
    }
    depth.set(r.runId, d);
    return d;
  };
  const layers: SweepRun[][] = [];
  for (const r of pending.values()) {
    const d = depthOf(r, new Set());
    (layers[d] ??= []).push(r);
  }
  return layers.filter((l) => l.length > 0);
}
