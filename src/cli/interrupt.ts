/**
 * Stopping training commands cleanly: Ctrl-C (SIGINT), SIGTERM (scancel, a time limit, preemption,
 * `kill`) and SIGUSR2 (the warning Slurm sends before a time limit when asked with
 * `--signal=B:USR2@<secs>`; not SIGUSR1, which Node reserves for its inspector) all ask the
 * trainer to save `last` and stop (exit 130 follows from the InterruptedError). `signal.by` says
 * which signal it was (a Slurm task requeues itself on the warning). A second Ctrl-C quits at
 * once; a repeated SIGTERM does not (Slurm follows it with SIGKILL after its grace period anyway).
 */
export type StopSignal = 'SIGINT' | 'SIGTERM' | 'SIGUSR2';

export async function withInterruptSignal<T>(fn: (signal: { interrupted: boolean; by?: StopSignal }) => Promise<T>): Promise<T> {
  const signal: { interrupted: boolean; by?: StopSignal } = { interrupted: false };
  const handlers = (['SIGINT', 'SIGTERM', 'SIGUSR2'] as const).map((name) => {
    const on = () => {
      if (signal.interrupted) {
        if (name === 'SIGINT' && signal.by === 'SIGINT') process.exit(130);
        return;
      }
      signal.interrupted = true;
      signal.by = name;
      process.stderr.write(name === 'SIGINT' ? '\ninterrupt: saving last checkpoint (Ctrl-C again to quit at once)\n' : `\n${name}: saving last checkpoint\n`);
    };
    process.on(name, on);
    return [name, on] as const;
  });
  try {
    return await fn(signal);
  } finally {
    for (const [name, on] of handlers) process.off(name, on);
  }
}
