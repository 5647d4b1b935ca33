/**
 * lt-bench's programmatic API. The CLI uses only what is exported here.
 */
export { runRecipe, referenceRecipes, runIdFor, splitFor, type RunOptions, type RunResult } from './runner.js';
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
export { LtModel } from './models/model.js';
export { learningRate } from './train/schedule.js';
export { Sgd } from './train/sgd.js';
export { evaluateRun, type EvalRunOptions, type EvalRunResult } from './eval/run-eval.js';
export { openRunData, recipeSplit, type RunData } from './data/run-data.js';
export { InMemoryBatchSource, ImageListBatchSource, type BatchSource, type SourceBatch, type EpochOptions } from './data/batch-source.js';
export { readRecord, readEpochLines } from './results/record.js';
export type { RunRecord, EpochLine, EvalMetrics } from './results/types.js';
export { Rng } from './rng.js';
export { LtBenchError, RecipeError, DataError, UsageError, InterruptedError } from './errors.js';
export { ensureRehearsalDataset, rehearsalManifest, type RehearsalDatasetInfo, type RehearsalDatasetOptions } from './rehearsal/dataset.js';
export { rehearseRecipe, rehearsalEpochs, REHEARSAL_RULE, DEFAULT_REHEARSAL_RESULTS } from './rehearsal/shrink.js';
export { selectRecords, isRehearsalRecord, asStudyRecord } from './rehearsal/records.js';
