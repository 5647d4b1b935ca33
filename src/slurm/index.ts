/** `sweep --executor slurm`: sweep files, dependency layers, sbatch scripts, submission, tasks, status. */
export { executorSchema, loadSweepFile, sweepFileSchema, validateSweepFile, type ExecutorSpec, type SweepFile } from './sweep-file.js';
export { dependencyLayers } from './layers.js';
export { DEFAULT_REQUEUE_LIMIT, DEFAULT_SIGNAL_SECONDS, resourceDirectives, sbatchScript, shellQuote, WARNING_SIGNAL, type ArrayScript, type SlurmResources } from './script.js';
export { parseSbatchId, submitSlurmSweep, type SlurmSweepOptions, type SlurmSweepResult, type Submission, type SubmissionLayer, type SubmissionRun } from './submit.js';
export { finishSlurmSweep, pinThreadsFromSlurm, readSubmission, runSlurmTask, taskRuns, type TaskOptions } from './task.js';
export { formatSweepStatus, listSubmissions, parseSqueue, sweepStatus, type RunState, type RunStatus, type SweepStatus } from './status.js';
