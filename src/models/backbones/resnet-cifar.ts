/**
 * CIFAR ResNets (6n+2 layers: ResNet-8/20/32/44/56/110): 3 stages of n basic blocks with
 * 16/32/64 channels, option-A (parameter-free) shortcuts, global average pooling.
 * Paper: He et al., "Deep Residual Learning for Image Recognition", CVPR 2016, §4.2.
 * Code followed: kaidic/LDAM-DRW `models/resnet_cifar.py` (the ResNet-32 of the LT literature):
 * kaiming-normal initialisation, shortcut F.pad(x[:, :, ::2, ::2], channels/4 on each side).
 * Works on 1- or 3-channel inputs of any size (28×28 Fashion-MNIST gives 28 → 14 → 7).
 * Deviation: the LDAM-DRW model's own linear classifier is not part of the backbone here; the
 * head is chosen by the method (linear, cosine, …), see src/models/classifiers.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { BatchNorm, Conv2d, subsample2 } from '../layers.js';
import type { ParamStore } from '../params.js';
import { checkSplit, scaledWidth } from './split.js';
import type { Backbone, BackboneBranch, BackboneSpec, BackboneTrunk, SplitBackbone } from './types.js';

const STAGE_WIDTHS = [16, 32, 64];

class BasicBlock {
  private readonly conv1: Conv2d;
  private readonly bn1: BatchNorm;
  private readonly conv2: Conv2d;
  private readonly bn2: BatchNorm;
  private readonly shortcutPad: number;

  constructor(store: ParamStore, name: string, inC: number, outC: number, readonly stride: number) {
    this.conv1 = new Conv2d(store, `${name}.conv1`, inC, outC, 3, stride);
    this.bn1 = new BatchNorm(store, `${name}.bn1`, outC);
    this.conv2 = new Conv2d(store, `${name}.conv2`, outC, outC, 3, 1);
    this.bn2 = new BatchNorm(store, `${name}.bn2`, outC);
    this.shortcutPad = stride !== 1 || inC !== outC ? (outC - inC) / 2 : 0;
  }

  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    // One tidy per block: its intermediates are released as the forward moves on (libtorch's graph,
    // or tfjs's tape, keeps what the backward pass needs), PyTorch's memory behaviour.
    return tf.tidy(() => {
      const out = this.bn2.apply(this.conv2.apply(tf.relu(this.bn1.apply(this.conv1.apply(x), training))), training);
      let shortcut = x;
      if (this.stride !== 1 || this.shortcutPad > 0) {
        const sub = this.stride === 2 ? subsample2(x) : x;
        shortcut = tf.pad(sub, [[0, 0], [0, 0], [0, 0], [this.shortcutPad, this.shortcutPad]]);
      }
      return tf.relu(tf.add(out, shortcut)) as tf.Tensor4D;
    });
  }
}

export class ResNetCifar implements Backbone {
  readonly featureDim = 64;
  private readonly stem: Conv2d;
  private readonly stemBn: BatchNorm;
  private readonly blocks: BasicBlock[] = [];

  constructor(store: ParamStore, inChannels: number, blocksPerStage: number) {
    this.stem = new Conv2d(store, 'conv1', inChannels, 16, 3, 1);
    this.stemBn = new BatchNorm(store, 'bn1', 16);
    let inC = 16;
    [16, 32, 64].forEach((width, stage) => {
      for (let b = 0; b < blocksPerStage; b++) {
        const stride = stage > 0 && b === 0 ? 2 : 1;
        this.blocks.push(new BasicBlock(store, `layer${stage + 1}.${b}`, inC, width, stride));
        inC = width;
      }
    });
  }

  apply(x: tf.Tensor4D, training: boolean): tf.Tensor2D {
    let h = tf.relu(this.stemBn.apply(this.stem.apply(x), training));
    for (const block of this.blocks) h = block.apply(h, training);
    return tf.mean(h, [1, 2]) as tf.Tensor2D;
  }
}

/**
 * The stem, stages 1 … splitStage−1 and the first `fromBlock` blocks of stage splitStage of
 * ResNetCifar, with its parameter names and creation order (the prefix of the full model's),
 * returning the feature map.
 */
class ResNetCifarTrunk implements BackboneTrunk {
  readonly outChannels: number;
  private readonly stem: Conv2d;
  private readonly stemBn: BatchNorm;
  private readonly blocks: BasicBlock[] = [];

  constructor(store: ParamStore, inChannels: number, blocksPerStage: number, splitStage: number, fromBlock: number) {
    this.stem = new Conv2d(store, 'conv1', inChannels, 16, 3, 1);
    this.stemBn = new BatchNorm(store, 'bn1', 16);
    let inC = 16;
    for (let stage = 0; stage < splitStage; stage++) {
      // Stages before the split stage whole, then the split stage's first `fromBlock` blocks.
      for (let b = 0; b < (stage < splitStage - 1 ? blocksPerStage : fromBlock); b++) {
        this.blocks.push(new BasicBlock(store, `layer${stage + 1}.${b}`, inC, STAGE_WIDTHS[stage], stage > 0 && b === 0 ? 2 : 1));
        inC = STAGE_WIDTHS[stage];
      }
    }
    this.outChannels = inC;
  }

  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    let h = tf.relu(this.stemBn.apply(this.stem.apply(x), training));
    for (const block of this.blocks) h = block.apply(h, training);
    return h;
  }
}

/**
 * Stages splitStage … 3 (from block `fromBlock` of the first) at scaled widths plus global
 * average pooling, as one expert of RIDE's
 * `ride_resnet_cifar.py` (`layer2s[i]`, `layer3s[i]`, option-A shortcuts padding (out − in) / 2
 * channels on each side, which needs an even width difference).
 */
class ResNetCifarBranch implements BackboneBranch {
  readonly featureDim: number;
  private readonly blocks: BasicBlock[] = [];

  constructor(store: ParamStore, blocksPerStage: number, splitStage: number, widthFactor: number, fromBlock: number) {
    // Input width: the trunk's, which ends inside stage splitStage when fromBlock > 0.
    let inC = fromBlock > 0 ? STAGE_WIDTHS[splitStage - 1] : STAGE_WIDTHS[splitStage - 2] ?? 16;
    for (let stage = splitStage - 1; stage < STAGE_WIDTHS.length; stage++) {
      const width = scaledWidth(STAGE_WIDTHS[stage], widthFactor);
      const first = stage === splitStage - 1 ? fromBlock : 0;
      if (first < blocksPerStage && (width < inC || (width - inC) % 2 !== 0)) {
        throw new Error(`resnet: width factor ${widthFactor} gives layer${stage + 1} ${width} channels after ${inC}; option-A shortcuts need an even, non-negative difference`);
      }
      for (let b = first; b < blocksPerStage; b++) {
        this.blocks.push(new BasicBlock(store, `layer${stage + 1}.${b}`, inC, width, stage > 0 && b === 0 ? 2 : 1));
        inC = width;
      }
    }
    this.featureDim = inC;
  }

  apply(h: tf.Tensor4D, training: boolean): tf.Tensor2D {
    for (const block of this.blocks) h = block.apply(h, training);
    return tf.mean(h, [1, 2]) as tf.Tensor2D;
  }
}

function splitCifar(depth: number, n: number): SplitBackbone {
  const name = `resnet${depth}`;
  const blocks = STAGE_WIDTHS.map(() => n);
  return {
    stages: STAGE_WIDTHS.length,
    blocks,
    createTrunk(store, inChannels, splitStage, fromBlock = 0) {
      checkSplit(name, blocks, splitStage, undefined, fromBlock);
      return new ResNetCifarTrunk(store, inChannels, n, splitStage, fromBlock);
    },
    createBranch(store, splitStage, widthFactor, fromBlock = 0) {
      checkSplit(name, blocks, splitStage, widthFactor, fromBlock);
      return new ResNetCifarBranch(store, n, splitStage, widthFactor, fromBlock);
    },
  };
}

function spec(depth: number): BackboneSpec {
  const n = (depth - 2) / 6;
  return {
    name: `resnet${depth}`,
    summary: `CIFAR ResNet-${depth} (3 stages × ${n} basic blocks, 16/32/64 channels, option-A shortcuts, 64-d features)`,
    citation: 'He et al., CVPR 2016; kaidic/LDAM-DRW models/resnet_cifar.py',
    create: (store, inChannels) => new ResNetCifar(store, inChannels, n),
    split: splitCifar(depth, n),
  };
}

export const cifarResNets: BackboneSpec[] = [8, 20, 32, 44, 56, 110].map(spec);
