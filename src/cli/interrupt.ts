/**
 * Ctrl-C for training commands: the first press asks the trainer to save `last` and stop (exit
 * 130 follows from the InterruptedError); a second press quits at once.
 */
export async function withInterruptSignal<T>(fn: (signal: { interrupted: boolean }) => Promise<T>): Promise<T> {
  const signal = { interrupted: false };
  const onSigint = () => {
    if (signal.interrupted) process.exit(130);
    signal.interrupted = true;
    process.stderr.write('\ninterrupt: saving last checkpoint (Ctrl-C again to quit at once)\n');
  };
  process.on('SIGINT', onSigint);
  try {
    return await fn(signal);
  } finally {
    process.off('SIGINT', onSigint);
  }
}
