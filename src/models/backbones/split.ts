/**
 * Shared rules of split backbones (src/models/backbones/types.ts SplitBackbone): which split
 * stages are valid and how a branch's reduced width is rounded.
 *
 * Width: RIDE's reduced experts (frank-xwang/RIDE-LongTailRecognition, `reduce_dimension=True`)
 * hard-code 3/4 of the original widths: CIFAR ResNet-32 `ldam_drw_resnets/ride_resnet_cifar.py`
 * layer2/layer3 24/48 channels instead of 32/64; ResNeXt-50 `fb_resnets/RIDEResNeXt.py` layer3/layer4
 * planes 192/384 instead of 256/512 (1536-d features). SADE (Vanint/SADE-AgnosticLT
 * `fb_resnets/Expert_ResNeXt.py`) uses the same. Here the width is round(planes · widthFactor),
 * which gives exactly those numbers at widthFactor 0.75.
 */
export function scaledWidth(planes: number, widthFactor: number): number {
  const w = Math.round(planes * widthFactor);
  if (!(w >= 1)) throw new Error(`width factor ${widthFactor} leaves ${planes} channels at ${w}`);
  return w;
}

/**
 * The stem is always shared and the cut lies in a stage: 1 ≤ splitStage ≤ stages, and
 * 0 ≤ fromBlock ≤ that stage's block count (its count: the branch is only the pooling). A trunk
 * (no width factor) may also take every stage, splitStage = stages + 1 with fromBlock 0: the whole
 * backbone's last feature map before pooling (OLTR's attention reads it).
 */
export function checkSplit(backbone: string, blocks: readonly number[], splitStage: number, widthFactor?: number, fromBlock = 0): void {
  const stages = blocks.length;
  const last = widthFactor === undefined ? stages + 1 : stages;
  if (!Number.isInteger(splitStage) || splitStage < 1 || splitStage > last) {
    throw new Error(`${backbone}: split stage ${splitStage} is not one of 1…${last}`);
  }
  const inStage = blocks[splitStage - 1] ?? 0; // the whole backbone as a trunk: no block to cut in
  if (!Number.isInteger(fromBlock) || fromBlock < 0 || fromBlock > inStage) {
    throw new Error(`${backbone}: split block ${fromBlock} is not one of 0…${inStage} (stage ${splitStage} has ${inStage} blocks)`);
  }
  if (widthFactor !== undefined && !(widthFactor > 0)) throw new Error(`${backbone}: width factor ${widthFactor} must be > 0`);
}
