/**
 * The `decouple-*` methods are presets over `stage1`/`stage2` (docs/architecture.md): each names the
 * stage-2 strategy, trains stage 1 with plain softmax CE (Kang et al.) and takes the stage-1
 * sampler from `method.params.stage1Sampler`.
 */
import { listMethods } from '../methods/registry.js';
import type { Stage2Strategy } from '../results/types.js';

/** Methods whose stages end in a classifier stage, and its strategy (from each method's `stages`). */
export const DECOUPLE_PRESETS: Readonly<Record<string, Stage2Strategy>> = Object.fromEntries(
  listMethods()
    // A classifier stage after a pre-training (SSP) is planned by src/lifecycle/stages.ts, not as a preset.
    .filter((m) => !(m.stages ?? []).some((s) => s.kind === 'pretrain' || s.kind === 'distill'))
    .flatMap((m) => (m.stages ?? []).flatMap((s) => (s.kind === 'classifier' ? [[m.name, s.strategy] as const] : []))),
);

export function presetStrategy(methodName: string): Stage2Strategy | null {
  return DECOUPLE_PRESETS[methodName] ?? null;
}

/** The method name a stage-2 run is recorded under. */
export function stage2MethodName(strategy: Stage2Strategy): string {
  return `decouple-${strategy}`;
}

/** Stage-2 epochs when the recipe gives none: the official cls_crt.yaml / cls_lws.yaml. */
export const DEFAULT_STAGE2_EPOCHS: Readonly<Record<Stage2Strategy, number>> = { crt: 10, lws: 5, 'tau-norm': 0, ncm: 0 };

/** τ candidates of tau_norm.py: np.linspace(0, 2, 21). */
export const DEFAULT_TAU_GRID: readonly number[] = Array.from({ length: 21 }, (_, i) => i / 10);
