/**
 * Errors that map to the CLI's exit codes (docs/architecture.md): 2 usage/recipe, 3 data/split,
 * 130 interrupted, 1 anything else that failed a run.
 */
export class LtBenchError extends Error {
  constructor(message: string, readonly exitCode: number) {
    super(message);
    this.name = new.target.name;
  }
}

/** A recipe that does not parse or validate; names the file and the key path. */
export class RecipeError extends LtBenchError {
  constructor(message: string, readonly file?: string, readonly keyPath?: string) {
    super(message, 2);
  }
}

export class UsageError extends LtBenchError {
  constructor(message: string) {
    super(message, 2);
  }
}

/** Missing, corrupt or inconsistent data; names the file and what to do. */
export class DataError extends LtBenchError {
  constructor(message: string, readonly file?: string) {
    super(message, 3);
  }
}

/**
 * A run, sweep or check that ran and failed (exit 1); what failed was already printed, the
 * message is the one-line summary.
 */
export class FailedError extends LtBenchError {
  constructor(message: string) {
    super(message, 1);
  }
}

/** Ctrl-C during a run, after `last` was saved. */
export class InterruptedError extends LtBenchError {
  constructor(message = 'interrupted') {
    super(message, 130);
  }
}
