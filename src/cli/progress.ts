/**
 * The CLI's Reporter: cli-progress bars on stderr when it is a TTY (and not CI, not --json);
 * otherwise one line per epoch on stderr, or nothing when quiet.
 */
import cliProgress from 'cli-progress';
import { epochsText, type EpochLine, type Reporter } from '../index.js';

function pct(v: number | null): string {
  return v === null ? '   -' : v.toFixed(1);
}

function describeEpoch(l: EpochLine): string {
  return `epoch ${l.epoch}: lr ${l.lr.toPrecision(3)} loss ${l.trainLoss.toFixed(4)} train ${l.trainAcc.toFixed(1)}% val ${l.valTop1.toFixed(1)}% (head ${pct(l.valGroups.head)} mid ${pct(l.valGroups.middle)} tail ${pct(l.valGroups.tail)}) ${l.imagesPerSec.toFixed(0)} img/s ${l.seconds.toFixed(1)}s`;
}

export function createCliReporter(opts: { quiet: boolean }): Reporter {
  const log = (m: string) => process.stderr.write(`${m}\n`);
  // Once per message: a run and its balanced reference runs share their groups.
  const warned = new Set<string>();
  const warn = (m: string) => {
    if (!warned.has(m)) log(`warning: ${m}`);
    warned.add(m);
  };
  if (opts.quiet) return { warn };
  const interactive = process.stderr.isTTY && !process.env.CI;
  if (!interactive) {
    return {
      runStart: (i) => log(`run ${i.runId} (${i.name}): ${epochsText(i.epochs)} × ${i.stepsPerEpoch} steps${i.resumedFrom ? `, resuming at epoch ${i.resumedFrom.epoch + 1} step ${i.resumedFrom.step + 1}` : ''}`),
      epochEnd: (l) => log(describeEpoch(l)),
      log,
      warn,
    };
  }
  let bar: cliProgress.SingleBar | null = null;
  let epochs = 0;
  return {
    runStart: (i) => {
      epochs = i.epochs;
      log(`run ${i.runId} (${i.name})${i.resumedFrom ? `: resuming at epoch ${i.resumedFrom.epoch + 1} step ${i.resumedFrom.step + 1}` : ''}`);
    },
    epochStart: (epoch, steps) => {
      bar = new cliProgress.SingleBar(
        { format: `epoch ${epoch + 1}/${epochs} [{bar}] {value}/{total} loss {loss} eta {eta_formatted}`, stream: process.stderr, hideCursor: true, clearOnComplete: true },
        cliProgress.Presets.shades_classic,
      );
      bar.start(steps, 0, { loss: '-' });
    },
    step: (step, loss) => bar?.update(step + 1, { loss: loss.toFixed(4) }),
    epochEnd: (l) => {
      bar?.stop();
      bar = null;
      log(describeEpoch(l));
    },
    runEnd: () => bar?.stop(),
    log: (m) => {
      bar?.stop();
      log(m);
    },
    warn: (m) => {
      bar?.stop();
      warn(m);
    },
  };
}
