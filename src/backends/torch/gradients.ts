/**
 * Gradient overrides that let a backend with fused kernels skip tfjs's elementwise scaffolding.
 * Gradients are global (one per kernel name, shared by every backend), so each one computes exactly
 * the stock tfjs 4.22.0 value, and only takes the shortcut when the active backend registers the
 * helper kernel:
 *  - Relu: `LtReluGrad(dy, x)` = dy·(x>0) in one pass (stock: Step, Cast, Multiply).
 *  - Sum / Mean: `LtBroadcastTo` expands dy to x's shape as a view (stock: a full-size JS array of
 *    ones written to the backend every step, then Multiply and, for Mean, RealDiv).
 *  - Conv2D (torch only): dx and dW in one call, as PyTorch's autograd does (stock:
 *    Conv2DBackpropInput and Conv2DBackpropFilter, each re-reading dy).
 */
import * as tf from '@tensorflow/tfjs';
import { TorchBackend } from './backend.js';
import { convBackpropBoth } from './kernels.js';

const hasKernel = (name: string) => tf.getKernel(name, tf.getBackend()) != null;

function expandedShape(x: tf.Tensor, axisAttr: unknown): { shape: number[]; reduceSize: number } {
  const axes = tf.util.parseAxisParam(axisAttr as number | number[], x.shape);
  const shape = x.shape.slice();
  let reduceSize = 1;
  for (const a of axes) { reduceSize *= shape[a]; shape[a] = 1; }
  return { shape, reduceSize };
}

const reluGrad: tf.GradConfig = {
  kernelName: 'Relu',
  inputsToSave: ['x'],
  gradFunc: (dy, saved) => {
    const [x] = saved;
    const d = dy as tf.Tensor;
    if (hasKernel('LtReluGrad')) return { x: () => tf.engine().runKernel('LtReluGrad', { dy: d, x }) as tf.Tensor };
    return { x: () => tf.mul(d, tf.cast(tf.step(x), 'float32')) };
  },
};

const sumGrad: tf.GradConfig = {
  kernelName: 'Sum',
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved;
    const { shape } = expandedShape(x, attrs.axis);
    const e = tf.reshape(dy as tf.Tensor, shape);
    if (hasKernel('LtBroadcastTo')) return { x: () => tf.engine().runKernel('LtBroadcastTo', { x: tf.cast(e, 'float32') }, { shape: x.shape }) as tf.Tensor };
    const derX = tf.mul(e, tf.ones(x.shape, 'float32'));
    return { x: () => derX };
  },
};

const meanGrad: tf.GradConfig = {
  kernelName: 'Mean',
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved;
    const { shape, reduceSize } = expandedShape(x, attrs.axis);
    return {
      x: () => {
        const e = tf.reshape(dy as tf.Tensor, shape);
        if (hasKernel('LtBroadcastTo')) return tf.engine().runKernel('LtBroadcastTo', { x: tf.div(e, reduceSize) }, { shape: x.shape }) as tf.Tensor;
        return tf.div(tf.mul(e, tf.ones(x.shape, 'float32')), reduceSize);
      },
    };
  },
};

/**
 * The tape runs the x thunk, then (in the same loop) the filter thunk, each in its own tidy. On
 * torch the x thunk computes both gradients in one call and parks dW as a raw backend TensorInfo
 * (not an engine tensor, so tf.memory() does not see it); the filter thunk turns it into a tensor.
 * If the filter is not trained (its thunk never runs), the parked dW is freed by the next Conv2D
 * gradient: at most one native buffer outlives a backward pass, and no tfjs tensor does.
 */
interface Parked { info: tf.TensorInfo; backend: TorchBackend }
let parked: Parked | undefined;
function releaseParked(): void {
  if (parked) parked.backend.disposeData(parked.info.dataId);
  parked = undefined;
}

const conv2dGrad: tf.GradConfig = {
  kernelName: 'Conv2D',
  inputsToSave: ['x', 'filter'],
  gradFunc: (dyIn, saved, attrs) => {
    const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
    const dy = dyIn as tf.Tensor4D;
    const { dilations, strides, pad, dataFormat } = attrs as unknown as tf.Conv2DAttrs;
    if (!tf.backend_util.tupleValuesAreOne(dilations)) {
      throw new Error(`Error in gradient of conv2D: dilation rates greater than 1 are not yet supported in gradients. Got dilations '${dilations}'`);
    }
    const separateDw = () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides, pad, dataFormat, filterShape: filter.shape }) as tf.Tensor;
    const separateDx = () => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, { strides, pad, dataFormat, inputShape: x.shape }) as tf.Tensor;
    if (!(tf.backend() instanceof TorchBackend) || dataFormat === 'NCHW') return { x: separateDx, filter: separateDw };
    let mine: Parked | undefined;
    return {
      x: () => {
        releaseParked();
        const backend = tf.backend() as TorchBackend;
        const [dxInfo, dwInfo] = convBackpropBoth(backend, dy, x, filter, { strides, pad, dataFormat });
        mine = parked = { info: dwInfo, backend };
        return tf.engine().makeTensorFromTensorInfo(dxInfo, backend);
      },
      filter: () => {
        if (mine === undefined || parked !== mine) return separateDw();
        parked = undefined;
        const t = tf.engine().makeTensorFromTensorInfo(mine.info, mine.backend);
        mine = undefined;
        return t;
      },
    };
  },
};

let registered = false;

/** Registers the overrides (idempotent). Call after `@tensorflow/tfjs` has loaded. */
export function registerFusedGradients(): void {
  if (registered) return;
  registered = true;
  for (const g of [reluGrad, sumGrad, meanGrad, conv2dGrad]) tf.registerGradient(g);
}
