/**
 * lt-bench's programmatic API. The CLI uses only what is exported here.
 */
export { splitFor, type RunOptions, type RunResult } from './runner.js';
export { runRecipe, runPlan, planRecipe, planRun, recordReferences, referenceRecipes, runIdFor, isLongTailed, needsReferences, type PlannedRun, type RecipePlan, type RunWork } from './lifecycle/index.js';
export { expandRecipeArgs, sweepJobs, planSweep, sweepRuns, sweepSummary, planErrors, runSweep, SweepEta, compactCount, duration, type SweepJob, type SweepPlanEntry, type SweepRun, type SweepOptions, type SweepOutcome } from './sweep.js';
export { loadRecipe, validateRecipe, applySets, type LoadedRecipe, type LoadOptions } from './recipe/load.js';
export { recipeSchema, type Recipe, type RecipeInput } from './recipe/schema.js';
export { recipeHash, canonicalJson } from './recipe/hash.js';
export { recipeJsonSchema } from './recipe/json-schema.js';
export { selectBackend, probeBackends, BACKEND_ORDER, type BackendChoice, type BackendProbe } from './backend.js';
export { makeLongTailSplit, exponentialCounts, groupsFromCounts, groupSizes } from './data/longtail.js';
export { readFashionMnist, parseIdxImages, parseIdxLabels } from './data/sources/idx.js';
export { makeSynthetic } from './data/sources/synthetic.js';
export { classificationMetrics, groupAccuracy, upperAndRelative } from './eval/metrics.js';
export { createLoss, lossNames, lossParamsSchema, posthocAdjust, classBalancedWeights, weightedSoftmaxWeights, ldamMargins, drwStartEpoch, esqlThreshold } from './losses/index.js';
export type { LossFn, LossOptions, LossContext } from './losses/types.js';
export { getMethod, listMethods, methodNames } from './methods/registry.js';
export type { Method, MethodInstance, ModelOutput } from './methods/types.js';
export { getBackbone, listBackbones, registerBackbone } from './models/backbones/registry.js';
export { LtModel, StoreModel } from './models/model.js';
export { buildSharedTrunkExperts, SharedTrunkExperts, type SharedTrunkExpertsSpec } from './models/shared-trunk-experts.js';
export type { BackboneBranch, BackboneTrunk, SplitBackbone } from './models/backbones/types.js';
export { learningRate } from './train/schedule.js';
export { Sgd } from './train/sgd.js';
export { evaluateRun, type EvalRunOptions, type EvalRunResult } from './eval/run-eval.js';
export { openRunData, recipeSplit, type RunData } from './data/run-data.js';
export { InMemoryBatchSource, ImageListBatchSource, type BatchSource, type SourceBatch, type EpochOptions } from './data/batch-source.js';
export { readRecord, readEpochLines } from './results/record.js';
export type { RunRecord, EpochLine, EvalMetrics } from './results/types.js';
export { Rng } from './rng.js';
export { LtBenchError, RecipeError, DataError, UsageError, InterruptedError, FailedError } from './errors.js';

// What the CLI (src/cli/) uses besides the above: it imports nothing else from src/
// (test/package/cli-imports.test.ts keeps it so).
export { ltBenchVersion } from './version.js';
export { formatDuration, runSecondsLeft } from './train/eta.js';
export { countStats, KNOWN_MANIFESTS, loadManifest, manifestStats, type DatasetManifest } from './data/manifests.js';
export { IN_MEMORY_DATASETS, loadDataset, type InMemoryDataset } from './data/load-source.js';
export { labelCounts } from './data/sources/image-list.js';
export { CLASS_FOLDER_DEFAULTS, classesBeside, makeClassFolderLongTail, makeImageNetLt, writeLongTailLists } from './data/make-lists.js';
export { verifyLists } from './data/verify.js';
export type { Reporter } from './train/reporter.js';
export { loadRecords, loadEpochs, runDir, type LoadResult, type Checkpoint } from './results/store.js';
export { listRuns, removeCheckpoints } from './results/runs.js';
export { buildTables, buildTable5, epochsText, sectionLabel, type ExpectedCell, type TableId } from './results/tables.js';
export { expectedCellsFromRecipes } from './results/expected-cells.js';
export { formatTables, TABLE_FORMATS, type TableFormat } from './results/format.js';
export { loadPaperTables, type PaperTables } from './results/paper.js';
export { isImageNetLT, rowLabel } from './results/table-layout.js';
export { accuracyVsRelativeAccuracy, perClassAccuracyPlot, perClassSeries, trainingCurvesPlot, writeFigure, type CurveSeries } from './results/plots.js';
export { baselineFromRecords, baselineFromSeeds, checkExact, checkRecords, CHECK_METRICS, DEFAULT_RULE, formatCheck, loadBaseline, stringifyBaseline, type CheckMetric } from './results/regression.js';
export { writeFileAtomic } from './results/atomic.js';
export { checkOutputDir, checkOutputFile, checkDataDir, describeFsCode, fromFsError } from './paths.js';
export { listRecipes, SHIPPED_RECIPES_DIR, type RecipeEntry } from './recipe/catalog.js';
export { checkRunPaths } from './runner.js';
export { emptyGroupWarnings } from './data/group-check.js';
export { describeHolder, RunHeldError } from './results/lock.js';
export { repairRun } from './results/repair.js';
export { diffRuns, runMetrics, showRun } from './results/run-info.js';
export { ensureRehearsalDataset, rehearsalManifest, type RehearsalDatasetInfo, type RehearsalDatasetOptions } from './rehearsal/dataset.js';
export { rehearseRecipe, rehearsalEpochs, REHEARSAL_RULE, DEFAULT_REHEARSAL_RESULTS } from './rehearsal/shrink.js';
export { selectRecords, isRehearsalRecord, asStudyRecord } from './rehearsal/records.js';
export { ignoredNote, rehearsalDatasetName, rehearsalExpectedCells } from './rehearsal/records.js';
export { defaultRehearsalRecipes, rehearseSweep } from './rehearsal/sweep.js';
export * from './slurm/index.js';
