/**
 * ImageNet-size ResNets as torchvision builds them: ResNet-10 (basic blocks [1, 1, 1, 1], 512-d
 * features), ResNet-50 (bottlenecks [3, 4, 6, 3], 2048-d) and ResNeXt-50 32x4d (bottlenecks
 * [3, 4, 6, 3] whose 3×3 conv has 32 groups of width 4 in stage 1, 2048-d), the backbones of the
 * ImageNet-LT / iNaturalist / Places-LT configs of the long-tailed literature.
 *
 * Papers: He et al., "Deep Residual Learning for Image Recognition", CVPR 2016 (ResNet);
 * Xie et al., "Aggregated Residual Transformations for Deep Neural Networks", CVPR 2017 (ResNeXt).
 * Code followed: torchvision `models/resnet.py` (ResNet, BasicBlock, Bottleneck, resnext50_32x4d),
 * and the survey's Decouple code, facebookresearch/classifier-balancing `models/ResNextFeature.py`
 * (+ `ResNext50Feature.py`: ResNext(Bottleneck, [3,4,6,3], groups=32, width_per_group=4)) and
 * `models/ResNetFeature.py` (+ `ResNet10Feature.py`: BasicBlock [1,1,1,1]), which build the same
 * networks.
 *
 * Structure (torchvision v1.5): 7×7 stride-2 stem conv (padding 3, no bias) + BN + ReLU, 3×3
 * stride-2 max-pool (padding 1, symmetric, −∞ padding); stages of 64/128/256/512 planes, the first
 * block of stages 2–4 striding on its 3×3 conv (the bottleneck's conv2, not its 1×1 conv1 as in
 * the original Caffe ResNet v1); a 1×1 conv + BN shortcut wherever the shape changes; global
 * average pooling. Bottleneck width = ⌊planes · width_per_group / 64⌋ · groups, output planes · 4.
 * Initialisation as torchvision: convs kaiming-normal, mode='fan_out' (std √(2 / (k·k·outC))),
 * BN γ = 1, β = 0; no zero-init of the last BN γ (torchvision's zero_init_residual defaults to
 * False). Parameter names follow torchvision's state_dict (conv1, bn1, layer1.0.conv1, …,
 * layer2.0.downsample.0/.1).
 *
 * Deviations:
 * - The classifier is not part of the backbone; the method picks the head (src/models/classifiers.ts).
 *   lt-bench's `linear` head initialises W kaiming-normal (fan-in, as LDAM-DRW), not with
 *   nn.Linear's default U(±1/√d) that torchvision's `fc` keeps; the parameter count is the same.
 * - The stem takes the dataset's channel count (torchvision: 3).
 * - Pooling is global (mean over H, W) at any input size; Decouple's code uses AvgPool2d(7), which is
 *   the same thing at 224 px only.
 * - Decouple's optional extras (modulated attention, fc_add, dropout) are not implemented.
 */
import * as tf from '@tensorflow/tfjs';
import { BatchNorm, Conv2d, GroupedConv2d, maxPool2d, type ConvOptions } from '../layers.js';
import type { ParamStore } from '../params.js';
import { checkSplit, scaledWidth } from './split.js';
import type { Backbone, BackboneBranch, BackboneSpec, BackboneTrunk, SplitBackbone } from './types.js';

const FAN_OUT: ConvOptions = { fanMode: 'fan_out' };

/** torchvision's downsample: Sequential(conv1x1(inC, outC, stride), BatchNorm2d(outC)). */
class Downsample {
  private readonly conv: Conv2d;
  private readonly bn: BatchNorm;

  constructor(store: ParamStore, name: string, inC: number, outC: number, stride: number) {
    this.conv = new Conv2d(store, `${name}.0`, inC, outC, 1, stride, FAN_OUT);
    this.bn = new BatchNorm(store, `${name}.1`, outC);
  }

  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    return this.bn.apply(this.conv.apply(x), training);
  }
}

interface Block {
  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D;
}

/** torchvision BasicBlock (expansion 1): 3×3 (stride) → BN → ReLU → 3×3 → BN, + shortcut, ReLU. */
class BasicBlock implements Block {
  static readonly expansion = 1;
  private readonly conv1: Conv2d;
  private readonly bn1: BatchNorm;
  private readonly conv2: Conv2d;
  private readonly bn2: BatchNorm;
  private readonly downsample?: Downsample;

  constructor(store: ParamStore, name: string, inC: number, planes: number, stride: number) {
    this.conv1 = new Conv2d(store, `${name}.conv1`, inC, planes, 3, stride, FAN_OUT);
    this.bn1 = new BatchNorm(store, `${name}.bn1`, planes);
    this.conv2 = new Conv2d(store, `${name}.conv2`, planes, planes, 3, 1, FAN_OUT);
    this.bn2 = new BatchNorm(store, `${name}.bn2`, planes);
    if (stride !== 1 || inC !== planes) this.downsample = new Downsample(store, `${name}.downsample`, inC, planes, stride);
  }

  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    // One tidy per block: its intermediates are released as the forward moves on (libtorch's graph,
    // or tfjs's tape, keeps what the backward pass needs), PyTorch's memory behaviour.
    return tf.tidy(() => {
      const out = this.bn2.apply(this.conv2.apply(tf.relu(this.bn1.apply(this.conv1.apply(x), training))), training);
      const identity = this.downsample ? this.downsample.apply(x, training) : x;
      return tf.relu(tf.add(out, identity)) as tf.Tensor4D;
    });
  }
}

/**
 * torchvision Bottleneck (expansion 4, v1.5): 1×1 → BN → ReLU → 3×3 grouped (stride) → BN → ReLU →
 * 1×1 → BN, + shortcut, ReLU.
 */
class Bottleneck implements Block {
  static readonly expansion = 4;
  private readonly conv1: Conv2d;
  private readonly bn1: BatchNorm;
  private readonly conv2: GroupedConv2d;
  private readonly bn2: BatchNorm;
  private readonly conv3: Conv2d;
  private readonly bn3: BatchNorm;
  private readonly downsample?: Downsample;

  constructor(store: ParamStore, name: string, inC: number, planes: number, stride: number, groups: number, baseWidth: number) {
    const width = Math.floor(planes * (baseWidth / 64)) * groups;
    const outC = planes * Bottleneck.expansion;
    this.conv1 = new Conv2d(store, `${name}.conv1`, inC, width, 1, 1, FAN_OUT);
    this.bn1 = new BatchNorm(store, `${name}.bn1`, width);
    this.conv2 = new GroupedConv2d(store, `${name}.conv2`, width, width, 3, stride, groups, FAN_OUT);
    this.bn2 = new BatchNorm(store, `${name}.bn2`, width);
    this.conv3 = new Conv2d(store, `${name}.conv3`, width, outC, 1, 1, FAN_OUT);
    this.bn3 = new BatchNorm(store, `${name}.bn3`, outC);
    if (stride !== 1 || inC !== outC) this.downsample = new Downsample(store, `${name}.downsample`, inC, outC, stride);
  }

  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    // One tidy per block: its intermediates are released as the forward moves on (libtorch's graph,
    // or tfjs's tape, keeps what the backward pass needs), PyTorch's memory behaviour.
    return tf.tidy(() => {
      let out = tf.relu(this.bn1.apply(this.conv1.apply(x), training));
      out = tf.relu(this.bn2.apply(this.conv2.apply(out), training));
      out = this.bn3.apply(this.conv3.apply(out), training);
      const identity = this.downsample ? this.downsample.apply(x, training) : x;
      return tf.relu(tf.add(out, identity)) as tf.Tensor4D;
    });
  }
}

export interface ResNetImageNetConfig {
  block: 'basic' | 'bottleneck';
  /** Blocks per stage (4 stages). */
  layers: [number, number, number, number];
  /** Bottleneck groups and width per group (ResNeXt 32x4d: 32, 4; ResNet: 1, 64). */
  groups?: number;
  widthPerGroup?: number;
}

export class ResNetImageNet implements Backbone {
  readonly featureDim: number;
  private readonly stem: Conv2d;
  private readonly stemBn: BatchNorm;
  private readonly blocks: Block[] = [];

  constructor(store: ParamStore, inChannels: number, config: ResNetImageNetConfig) {
    const groups = config.groups ?? 1;
    const baseWidth = config.widthPerGroup ?? 64;
    if (config.block === 'basic' && (groups !== 1 || baseWidth !== 64)) throw new Error('BasicBlock only supports groups=1 and width_per_group=64');
    const expansion = config.block === 'basic' ? BasicBlock.expansion : Bottleneck.expansion;
    this.stem = new Conv2d(store, 'conv1', inChannels, 64, 7, 2, { padding: 3, fanMode: 'fan_out' });
    this.stemBn = new BatchNorm(store, 'bn1', 64);
    let inC = 64;
    [64, 128, 256, 512].forEach((planes, stage) => {
      for (let b = 0; b < config.layers[stage]; b++) {
        const stride = stage > 0 && b === 0 ? 2 : 1;
        const name = `layer${stage + 1}.${b}`;
        this.blocks.push(config.block === 'basic'
          ? new BasicBlock(store, name, inC, planes, stride)
          : new Bottleneck(store, name, inC, planes, stride, groups, baseWidth));
        inC = planes * expansion;
      }
    });
    this.featureDim = inC;
  }

  apply(x: tf.Tensor4D, training: boolean): tf.Tensor2D {
    let h = tf.relu(this.stemBn.apply(this.stem.apply(x), training));
    h = maxPool2d(h, 3, 2, 1);
    for (const block of this.blocks) h = block.apply(h, training);
    return tf.mean(h, [1, 2]) as tf.Tensor2D;
  }
}

const PLANES = [64, 128, 256, 512];

function makeBlock(store: ParamStore, name: string, inC: number, planes: number, stride: number, config: ResNetImageNetConfig): Block {
  return config.block === 'basic'
    ? new BasicBlock(store, name, inC, planes, stride)
    : new Bottleneck(store, name, inC, planes, stride, config.groups ?? 1, config.widthPerGroup ?? 64);
}

function expansionOf(config: ResNetImageNetConfig): number {
  return config.block === 'basic' ? BasicBlock.expansion : Bottleneck.expansion;
}

/**
 * The stem, max-pool, stages 1 … splitStage−1 and the first `fromBlock` blocks of stage
 * splitStage of ResNetImageNet, with its parameter names and creation order (the prefix of the
 * full model's), returning the feature map.
 */
class ResNetImageNetTrunk implements BackboneTrunk {
  readonly outChannels: number;
  private readonly stem: Conv2d;
  private readonly stemBn: BatchNorm;
  private readonly blocks: Block[] = [];

  constructor(store: ParamStore, inChannels: number, config: ResNetImageNetConfig, splitStage: number, fromBlock: number) {
    this.stem = new Conv2d(store, 'conv1', inChannels, 64, 7, 2, { padding: 3, fanMode: 'fan_out' });
    this.stemBn = new BatchNorm(store, 'bn1', 64);
    let inC = 64;
    for (let stage = 0; stage < splitStage; stage++) {
      // Stages before the split stage whole, then the split stage's first `fromBlock` blocks.
      for (let b = 0; b < (stage < splitStage - 1 ? config.layers[stage] : fromBlock); b++) {
        this.blocks.push(makeBlock(store, `layer${stage + 1}.${b}`, inC, PLANES[stage], stage > 0 && b === 0 ? 2 : 1, config));
        inC = PLANES[stage] * expansionOf(config);
      }
    }
    this.outChannels = inC;
  }

  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    let h = tf.relu(this.stemBn.apply(this.stem.apply(x), training));
    h = maxPool2d(h, 3, 2, 1);
    for (const block of this.blocks) h = block.apply(h, training);
    return h;
  }
}

/**
 * Stages splitStage … 4 (from block `fromBlock` of the first) with planes scaled by the width
 * factor, plus global average pooling: one
 * expert of RIDE's `RIDEResNeXt.py` (`layer3s[i]`, `layer4s[i]`; planes 192 / 384 at factor 0.75,
 * so the ResNeXt-50 bottleneck width is ⌊192·4/64⌋·32 = 384 and the features 384·4 = 1536).
 */
class ResNetImageNetBranch implements BackboneBranch {
  readonly featureDim: number;
  private readonly blocks: Block[] = [];

  constructor(store: ParamStore, config: ResNetImageNetConfig, splitStage: number, widthFactor: number, fromBlock: number) {
    const expansion = expansionOf(config);
    // Input width: the trunk's, which ends inside stage splitStage when fromBlock > 0.
    let inC = fromBlock > 0 ? PLANES[splitStage - 1] * expansion : splitStage >= 2 ? PLANES[splitStage - 2] * expansion : 64;
    for (let stage = splitStage - 1; stage < PLANES.length; stage++) {
      const planes = scaledWidth(PLANES[stage], widthFactor);
      for (let b = stage === splitStage - 1 ? fromBlock : 0; b < config.layers[stage]; b++) {
        this.blocks.push(makeBlock(store, `layer${stage + 1}.${b}`, inC, planes, stage > 0 && b === 0 ? 2 : 1, config));
        inC = planes * expansion;
      }
    }
    this.featureDim = inC;
  }

  apply(h: tf.Tensor4D, training: boolean): tf.Tensor2D {
    for (const block of this.blocks) h = block.apply(h, training);
    return tf.mean(h, [1, 2]) as tf.Tensor2D;
  }
}

function splitImageNet(name: string, config: ResNetImageNetConfig): SplitBackbone {
  return {
    stages: PLANES.length,
    blocks: config.layers,
    createTrunk(store, inChannels, splitStage, fromBlock = 0) {
      checkSplit(name, config.layers, splitStage, undefined, fromBlock);
      return new ResNetImageNetTrunk(store, inChannels, config, splitStage, fromBlock);
    },
    createBranch(store, splitStage, widthFactor, fromBlock = 0) {
      checkSplit(name, config.layers, splitStage, widthFactor, fromBlock);
      return new ResNetImageNetBranch(store, config, splitStage, widthFactor, fromBlock);
    },
  };
}

const CITATION_RESNET = 'He et al., CVPR 2016; torchvision models/resnet.py; facebookresearch/classifier-balancing models/ResNetFeature.py';
const CITATION_RESNEXT = 'Xie et al., CVPR 2017; He et al., CVPR 2016; torchvision models/resnet.py (resnext50_32x4d); facebookresearch/classifier-balancing models/ResNextFeature.py';

export const imageNetResNets: BackboneSpec[] = [
  {
    name: 'resnet10',
    summary: 'ImageNet ResNet-10 (7×7 stem + max-pool, basic blocks [1,1,1,1], 512-d features)',
    citation: CITATION_RESNET,
    create: (store, inChannels) => new ResNetImageNet(store, inChannels, { block: 'basic', layers: [1, 1, 1, 1] }),
    split: splitImageNet('resnet10', { block: 'basic', layers: [1, 1, 1, 1] }),
  },
  {
    name: 'resnet50',
    summary: 'ImageNet ResNet-50 (torchvision v1.5: 7×7 stem + max-pool, bottlenecks [3,4,6,3], 2048-d features)',
    citation: CITATION_RESNET,
    create: (store, inChannels) => new ResNetImageNet(store, inChannels, { block: 'bottleneck', layers: [3, 4, 6, 3] }),
    split: splitImageNet('resnet50', { block: 'bottleneck', layers: [3, 4, 6, 3] }),
  },
  {
    name: 'resnext50',
    summary: 'ImageNet ResNeXt-50 32x4d (7×7 stem + max-pool, bottlenecks [3,4,6,3] with 32-group 3×3 convs, 2048-d features)',
    citation: CITATION_RESNEXT,
    create: (store, inChannels) => new ResNetImageNet(store, inChannels, { block: 'bottleneck', layers: [3, 4, 6, 3], groups: 32, widthPerGroup: 4 }),
    split: splitImageNet('resnext50', { block: 'bottleneck', layers: [3, 4, 6, 3], groups: 32, widthPerGroup: 4 }),
  },
];
