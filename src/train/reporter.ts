import type { EpochLine } from '../results/types.js';

/** How a training loop reports progress; the CLI renders it (bars on a TTY, lines otherwise). */
export interface Reporter {
  runStart?(info: { runId: string; name: string; epochs: number; stepsPerEpoch: number; resumedFrom?: { epoch: number; step: number } }): void;
  epochStart?(epoch: number, steps: number, lr: number): void;
  step?(step: number, loss: number): void;
  epochEnd?(line: EpochLine): void;
  runEnd?(): void;
  /** Evaluation progress: `done` of `total` images of `what` ('val', 'test', …) predicted so far. */
  evaluation?(info: { what: string; done: number; total: number }): void;
  log?(message: string): void;
  /** Something the user should see even when progress is off (the CLI: stderr, also with --quiet/--json). */
  warn?(message: string): void;
}

export const silentReporter: Reporter = {};
