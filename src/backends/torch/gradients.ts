/**
 * Gradient overrides that let a backend with fused kernels skip tfjs's elementwise scaffolding.
 * Gradients are global (one per kernel name, shared by every backend), so each one computes exactly
 * the stock tfjs 4.22.0 value, and only takes the shortcut when the active backend registers the
 * helper kernel:
 *  - Relu: `LtReluGrad(dy, x)` = dy·(x>0) in one pass (stock: Step, Cast, Multiply).
 *  - Sum / Mean: `LtBroadcastTo` expands dy to x's shape as a view (stock: a full-size JS array of
 *    ones written to the backend every step, then Multiply and, for Mean, RealDiv).
 */
import * as tf from '@tensorflow/tfjs';

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

let registered = false;

/** Registers the overrides (idempotent). Call after `@tensorflow/tfjs` has loaded. */
export function registerFusedGradients(): void {
  if (registered) return;
  registered = true;
  for (const g of [reluGrad, sumGrad, meanGrad]) tf.registerGradient(g);
}
