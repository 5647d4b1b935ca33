/**
 * A multi-expert model on a split backbone (RIDE, SADE): one shared trunk (the stem and the stages
 * before `splitStage`), then `experts` branches, each with its own later stages at
 * `widthFactor` × the widths, global average pooling and its own head.
 *
 *  - `forwardFeatures(x)` returns every expert's pooled features concatenated, [B, experts · d]
 *    (expert 0's d columns first), as RIDE's model keeps one feature vector per expert
 *    (`self.feat`); so `output.features` is that concatenation.
 *  - `forwardHead(features)` splits it back into the experts' d-column blocks and applies each
 *    expert's head: `output.experts[i]` is expert i's logits and `output.logits` their mean
 *    (RIDE / SADE's prediction: `torch.stack(outs, dim=1).mean(dim=1)`).
 *
 * Parameter names and creation order (which fix the seeded initial values): the trunk under the
 * full backbone's names (`conv1`, `bn1`, `layer1.0.…`), then expert by expert its stages and head
 * under `experts.<i>.` (`experts.0.layer3.0.conv1.weight`, …, `experts.0.fc.weight`, then
 * `experts.1.…`).
 */
import * as tf from '@tensorflow/tfjs';
import type { HeadName, ModelOutput } from '../methods/types.js';
import { Rng } from '../rng.js';
import { getBackbone } from './backbones/registry.js';
import type { BackboneBranch, BackboneTrunk } from './backbones/types.js';
import { createHead, type Head } from './classifiers.js';
import { ParamStore } from './params.js';
import { StoreModel } from './model.js';

export interface SharedTrunkExpertsSpec {
  backbone: string;
  inChannels: number;
  numClasses: number;
  /** Seed of the initialisation (the training seed). */
  seed: number;
  /** First stage (1-based) each expert owns; RIDE / SADE: 2 on the CIFAR ResNets, 3 on ResNeXt-50. */
  splitStage: number;
  experts: number;
  /** Scales the experts' stage widths (RIDE's reduced experts: 0.75). Default 1. */
  widthFactor?: number;
  head?: HeadName;
  /** Options of each expert's head, e.g. the cosine head's scale (RIDE / SADE: 30). */
  headOptions?: Record<string, unknown>;
}

export class SharedTrunkExperts extends StoreModel {
  readonly store: ParamStore;
  readonly trunk: BackboneTrunk;
  readonly branches: BackboneBranch[] = [];
  readonly heads: Head[] = [];
  /** Pooled feature width of one expert. */
  readonly expertDim: number;

  constructor(readonly spec: SharedTrunkExpertsSpec) {
    super();
    if (!Number.isInteger(spec.experts) || spec.experts < 1) throw new Error(`experts must be a positive integer, got ${spec.experts}`);
    const split = getBackbone(spec.backbone).split;
    if (!split) throw new Error(`backbone '${spec.backbone}' cannot be split into a shared trunk and experts`);
    this.store = new ParamStore(new Rng(spec.seed).fork('init'));
    this.trunk = split.createTrunk(this.store, spec.inChannels, spec.splitStage);
    for (let i = 0; i < spec.experts; i++) {
      const scope = this.store.scoped(`experts.${i}`);
      const branch = split.createBranch(scope, spec.splitStage, spec.widthFactor ?? 1);
      this.branches.push(branch);
      this.heads.push(createHead(spec.head ?? 'linear', scope, branch.featureDim, spec.numClasses, spec.headOptions));
    }
    this.expertDim = this.branches[0].featureDim;
  }

  forwardFeatures(x: tf.Tensor4D, training: boolean): tf.Tensor2D {
    // Like LtModel, no tidy here: callers run the forward pass inside the step's tape / tidy.
    const h = this.trunk.apply(x, training);
    const feats = this.branches.map((b) => b.apply(h, training));
    return (feats.length === 1 ? feats[0] : tf.concat(feats, 1)) as tf.Tensor2D;
  }

  forwardHead(features: tf.Tensor2D, training: boolean): ModelOutput {
    const parts = this.heads.length === 1 ? [features] : tf.split(features, this.heads.length, 1) as tf.Tensor2D[];
    const experts = this.heads.map((head, i) => head.apply(parts[i], training));
    const logits = tf.div(tf.addN(experts), experts.length) as tf.Tensor2D;
    return { features, experts, logits };
  }

}

export function buildSharedTrunkExperts(spec: SharedTrunkExpertsSpec): SharedTrunkExperts {
  return new SharedTrunkExperts(spec);
}
