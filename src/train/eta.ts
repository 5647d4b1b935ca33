/** Time-left estimates for progress output: the run's (from its epochs so far) and their wording. */

/** "7m", "2h05m", "<1m"; "?" when unknown. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 30) return '<1m';
  const m = Math.round(seconds / 60);
  return m >= 60 ? `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m` : `${m}m`;
}

/** Time left in a run: the mean length of the epochs seen so far times the epochs still to go. */
export function runSecondsLeft(epochSeconds: number[], epochsDone: number, epochs: number): number {
  if (epochSeconds.length === 0) return NaN;
  const mean = epochSeconds.reduce((a, b) => a + b, 0) / epochSeconds.length;
  return mean * Math.max(0, epochs - epochsDone);
}
