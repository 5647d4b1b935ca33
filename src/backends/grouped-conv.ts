/**
 * Grouped 2-D convolution (ResNeXt's 32-group 3×3 convs), which tfjs lacks.
 *
 * `groupedConv2d(x, filter, strides, pad, groups)`: x NHWC [N,H,W,C], filter HWIO
 * [fh, fw, C/groups, outC]; output channel block g (of outC/groups) sees input channel block g,
 * as in PyTorch's `groups`. On a backend that registers the `GroupedConv2D` kernel (`torch`) it is
 * one kernel with its own gradient; everywhere else it splits x and the filter into `groups`
 * blocks, convolves each with `tf.conv2d` and concatenates (autodiff then handles the gradient).
 */
import * as tf from '@tensorflow/tfjs';

export const GROUPED_CONV_KERNEL = 'GroupedConv2D';

type Pad = 'valid' | 'same' | number | [[number, number], [number, number], [number, number], [number, number]];

export function groupedConv2d(x: tf.Tensor4D, filter: tf.Tensor4D, strides: number | [number, number], pad: Pad,
  groups: number, dilations: number | [number, number] = 1): tf.Tensor4D {
  const [fh, fw, cinPerGroup, cout] = filter.shape;
  const cin = x.shape[3];
  if (!Number.isInteger(groups) || groups < 1 || cin % groups !== 0 || cout % groups !== 0 || cin / groups !== cinPerGroup) {
    throw new Error(`groupedConv2d: ${cin} input / ${cout} output channels and a filter [${fh},${fw},${cinPerGroup},${cout}] do not split into ${groups} groups`);
  }
  if (groups === 1) return tf.conv2d(x, filter, strides, pad, 'NHWC', dilations) as tf.Tensor4D;
  if (tf.getKernel(GROUPED_CONV_KERNEL, tf.getBackend()) != null) {
    return tf.engine().runKernel(GROUPED_CONV_KERNEL, { x, filter }, { strides, pad, dilations, groups, dataFormat: 'NHWC' }) as tf.Tensor4D;
  }
  return tf.tidy(() => {
    const xs = tf.split(x, groups, 3);
    const fs = tf.split(filter, groups, 3);
    return tf.concat(xs.map((xg, g) => tf.conv2d(xg as tf.Tensor4D, fs[g] as tf.Tensor4D, strides, pad, 'NHWC', dilations)), 3);
  });
}

let registered = false;

/** Gradient of the GroupedConv2D kernel (global; harmless on backends that never run it). */
export function registerGroupedConvGradient(): void {
  if (registered) return;
  registered = true;
  tf.registerGradient({
    kernelName: GROUPED_CONV_KERNEL,
    inputsToSave: ['x', 'filter'],
    gradFunc: (dy, saved, attrs) => {
      const [x, filter] = saved;
      const a = attrs as tf.NamedAttrMap;
      const common: tf.NamedAttrMap = { strides: a.strides, pad: a.pad, dilations: a.dilations, groups: a.groups, dataFormat: 'NHWC' };
      return {
        x: () => tf.engine().runKernel('GroupedConv2DBackpropInput', { dy: dy as tf.Tensor, filter }, { ...common, inputShape: x.shape }) as tf.Tensor,
        filter: () => tf.engine().runKernel('GroupedConv2DBackpropFilter', { x, dy: dy as tf.Tensor }, { ...common, filterShape: filter.shape }) as tf.Tensor,
      };
    },
  });
}
registerGroupedConvGradient();
