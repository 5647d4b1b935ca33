/**
 * The per-run `log.txt` beside `run.json`: what the run printed (its reporter's lines) and the
 * error that stopped it, appended across resumes so a failed run explains itself afterwards.
 */
import { appendFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Reporter } from '../train/reporter.js';

export const LOG_FILE = 'log.txt';

/** Appends one timestamped entry; never throws (a full disk must not hide the run's own error). */
export function appendRunLog(dir: string, message: string): void {
  if (!existsSync(dir)) return;
  try {
    appendFileSync(path.join(dir, LOG_FILE), `${new Date().toISOString()} ${message}\n`);
  } catch {
    /* nothing more to do: the error is also on stderr */
  }
}

/** A reporter that also appends runStart, every epoch line and every log message to `dir/log.txt`. */
export function loggingReporter(dir: string, inner: Reporter = {}): Reporter {
  appendRunLog(dir, `start: host ${os.hostname()} pid ${process.pid}`);
  return {
    ...inner,
    runStart: (i) => {
      appendRunLog(dir, `run ${i.runId} (${i.name}): ${i.epochs} epochs × ${i.stepsPerEpoch} steps${i.resumedFrom ? `, resuming at epoch ${i.resumedFrom.epoch + 1} step ${i.resumedFrom.step + 1}` : ''}`);
      inner.runStart?.(i);
    },
    epochEnd: (l) => {
      appendRunLog(dir, `epoch ${l.epoch}: lr ${l.lr.toPrecision(3)} loss ${l.trainLoss.toFixed(4)} train ${l.trainAcc.toFixed(1)}% val ${l.valTop1.toFixed(1)}% ${l.seconds.toFixed(1)}s`);
      inner.epochEnd?.(l);
    },
    runEnd: () => {
      appendRunLog(dir, 'finished');
      inner.runEnd?.();
    },
    log: (m) => {
      appendRunLog(dir, m);
      inner.log?.(m);
    },
    warn: (m) => {
      appendRunLog(dir, `warning: ${m}`);
      inner.warn?.(m);
    },
  };
}
