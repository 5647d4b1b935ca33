/**
 * The lt-bench CLI: a thin shell over the programmatic API. Exit codes (docs/architecture.md):
 * commands never set process.exitCode; they throw an LtBenchError and main returns its code.
 */
import { Command, CommanderError } from 'commander';
import { expectedCellsFromRecipes, fromFsError, LtBenchError, ltBenchVersion } from '../index.js';
import { registerDoctor } from './doctor.js';
import { registerMethods } from './methods.js';
import { registerRun } from './run.js';
import { registerSchema } from './schema.js';
import { registerValidate } from './validate.js';
import { registerRecipes } from './recipes.js';
import { registerSweep } from './sweep.js';
import { registerRuns } from './runs.js';
import { registerData } from './data.js';
import { registerEval } from './eval.js';
import { register as registerTable } from './table.js';
import { register as registerPlot } from './plot.js';
import { register as registerCheck } from './check.js';

export function buildProgram(): Command {
  const program = new Command('lt-bench')
    .description('benchmark harness for deep long-tailed image classification')
    .version(ltBenchVersion())
    .exitOverride()
    .showHelpAfterError();
  registerRun(program);
  registerValidate(program);
  registerRecipes(program);
  registerMethods(program);
  registerDoctor(program);
  registerSchema(program);
  registerSweep(program);
  registerRuns(program);
  registerData(program);
  registerEval(program);
  registerTable(program, { expectedCells: () => expectedCellsFromRecipes('recipes') });
  registerPlot(program);
  registerCheck(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    // The one way a command sets the exit code: it throws an LtBenchError (or a filesystem error, mapped here).
    const err = e instanceof LtBenchError ? e : fromFsError(e);
    if (err) {
      process.stderr.write(`lt-bench: ${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(`lt-bench: ${(e as Error).stack ?? String(e)}\n`);
    return 1;
  }
}
