/**
 * Running a recipe: plan it (plan.ts), then run each planned run in order — single-stage runs by
 * src/runner.ts, stage-2 runs by src/stages/stage2.ts — and write UA/RA into the long-tailed
 * record once its balanced references are finished. A finished record is reused, an unfinished
 * one resumed from `last`, and `force` trains the recipe's own run again into a new id (stage 1
 * and the references are reused): nothing is overwritten.
 */
import { upperAndRelative } from '../eval/metrics.js';
import type { Recipe } from '../recipe/schema.js';
import { RunHeldError } from '../results/lock.js';
import { writeRecord } from '../results/record.js';
import { appendRunLog } from '../results/run-log.js';
import { checkRunPaths, trainOne, type RunOptions, type RunResult } from '../runner.js';
import { runStage2 } from '../stages/stage2.js';
import { runStage } from './run-stage.js';
import { planRecipe, type PlannedRun, type RecipePlan } from './plan.js';

/** Runs one planned run; `done` holds the results of the runs it depends on. */
async function runPlanned(run: PlannedRun, done: Map<string, RunResult>, opts: RunOptions): Promise<RunResult> {
  const own = run.role === 'main';
  const runOpts: RunOptions = { ...opts, force: own ? opts.force : false, recipePath: own ? opts.recipePath : null };
  if (run.stage) return runStage(run, done, runOpts);
  if (run.kind === 'train') return trainOne(run.recipe, runOpts);
  const stage1 = done.get(run.dependsOn[0]);
  if (!stage1) throw new Error(`internal: stage-2 run ${run.runId} planned before its stage-1 run ${run.dependsOn[0]}`);
  return runStage2(run.stages!, stage1, runOpts);
}

/** Runs every run of a plan in order and returns the main run's result (with its references). */
export async function runPlan(plan: RecipePlan, opts: RunOptions = {}): Promise<RunResult> {
  const done = new Map<string, RunResult>();
  // A reference run (or its stage) that another trainer holds does not fail the main run: the
  // record names it, and `table` computes UA/RA from it once it is finished.
  const held: RunHeldError[] = [];
  const isReference = (run: PlannedRun) => run.role.startsWith('reference');
  for (const run of plan.runs) {
    if (isReference(run) && run.dependsOn.some((id) => held.some((h) => h.runId === id))) continue;
    try {
      done.set(run.runId, await runPlanned(run, done, opts));
    } catch (e) {
      if (!(e instanceof RunHeldError) || !isReference(run)) throw e;
      held.push(e);
    }
  }
  // With --force the main run trained into `…-rN`: its result, not the planned id, is the run.
  const main = done.get(plan.main.runId)!;
  if (!plan.references) return main;
  const vanilla = done.get(plan.references.vanilla);
  const method = done.get(plan.references.method);
  if (!vanilla || !method) {
    const note = `reference run(s) ${held.map((h) => h.runId).join(', ')} held by another trainer; lt-bench table computes UA/RA once they finish`;
    main.record.reference = { vanillaBalancedRunId: plan.references.vanilla, methodBalancedRunId: plan.references.method, ua: null, ra: null, note };
    writeRecord(main.dir, main.record);
    appendRunLog(main.dir, note);
    opts.reporter?.log?.(`run ${main.record.runId}: ${note}`);
    return { ...main, heldReferences: held };
  }
  recordReferences(main, vanilla, method);
  return { ...main, references: { vanilla, method } };
}

/**
 * The last step of a long-tailed run with references: its record names the balanced runs and
 * carries UA = max(A_v, A_b) and RA = 100·Acc/UA. A scheduler that runs the planned runs as jobs
 * of their own calls this once the main run and both references are finished.
 */
export function recordReferences(main: Pick<RunResult, 'record' | 'dir'>, vanilla: Pick<RunResult, 'record'>, method: Pick<RunResult, 'record'>): void {
  const { ua, ra } = upperAndRelative(main.record.metrics.last!.top1, vanilla.record.metrics.last!.top1, method.record.metrics.last!.top1);
  main.record.reference = { vanillaBalancedRunId: vanilla.record.runId, methodBalancedRunId: method.record.runId, ua, ra };
  writeRecord(main.dir, main.record);
}

/** Runs (or reuses, or resumes) a recipe: its stages, and its balanced reference runs when it needs them. */
export async function runRecipe(recipe: Recipe, opts: RunOptions = {}): Promise<RunResult> {
  checkRunPaths(recipe, opts);
  return runPlan(planRecipe(recipe, opts), opts);
}
