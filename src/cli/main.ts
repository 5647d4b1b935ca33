/** The lt-bench CLI: a thin shell over the programmatic API; exit codes per docs/architecture.md. */
import { Command, CommanderError } from 'commander';
import { expectedCellsFromRecipes, LtBenchError, ltBenchVersion } from '../index.js';
import { registerDoctor } from './doctor.js';
import { registerMethods } from './methods.js';
import { registerRun } from './run.js';
import { registerSchema } from './schema.js';
import { registerValidate } from './validate.js';
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
    if (e instanceof LtBenchError) {
      process.stderr.write(`lt-bench: ${e.message}\n`);
      return e.exitCode;
    }
    process.stderr.write(`lt-bench: ${(e as Error).stack ?? String(e)}\n`);
    return 1;
  }
}
