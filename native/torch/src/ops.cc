// Kernels of the lt-bench libtorch addon. Tensors arrive in tfjs layout (NHWC activations, HWIO
// filters, row-major in the tfjs shape). 4-D activations are handed to ATen as NCHW views with
// channels-last strides (permute, no copy), which is the layout ATen's oneDNN convolutions, pooling
// and batch norm keep; results are permuted back (contiguous NHWC again, still without a copy).
// Argument order of every op is mirrored in src/backends/torch/kernels.ts.
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <cmath>
#include <limits>

#include "table.h"

namespace lt {
namespace {

// Layout policy. A tfjs NHWC tensor produced by these kernels is stored as an NHWC-shaped *view*
// of an NCHW-contiguous ATen tensor (toNHWC permutes without copying). Convolution, pooling and
// batch norm get NCHW-contiguous input back for free (toNCHW), i.e. exactly the layout PyTorch's
// own CIFAR models use; only data coming from JS (NHWC row-major) is converted once. Elementwise
// ops work on the strided views directly; reads (toData) make them row-major.
// (Channels-last ATen tensors were tried first: Debian's libtorch 1.13 runs batch norm 2-3x
// slower on them and computes a wrong grad_weight for strided 1x1 convolutions.)
at::Tensor toNCHW(const at::Tensor& nhwc) { return contiguousCounted(nhwc.permute({0, 3, 1, 2})); }
at::Tensor toNHWC(const at::Tensor& nchw) { return nchw.permute({0, 2, 3, 1}); }
// HWIO [fh, fw, in, out] -> OIHW
at::Tensor filterOIHW(const at::Tensor& hwio) { return hwio.permute({3, 2, 0, 1}); }
at::TensorOptions opts(at::ScalarType t) { return at::TensorOptions().dtype(t).device(state().device); }

// ---- unary ------------------------------------------------------------------------------------
#define UNARY(NAME, EXPR)                    \
  void NAME(Args& a, Out& o) {               \
    const at::Tensor& x = a.t();             \
    o.add(EXPR);                             \
  }
UNARY(op_identity, x)
UNARY(op_relu, at::relu(x))
UNARY(op_relu6, at::clamp(x, 0, 6))
UNARY(op_exp, at::exp(x.is_floating_point() ? x : x.to(at::kFloat)))
UNARY(op_log, at::log(x))
UNARY(op_log1p, at::log1p(x))
UNARY(op_expm1, at::expm1(x))
UNARY(op_sqrt, at::sqrt(x))
UNARY(op_rsqrt, at::rsqrt(x))
UNARY(op_square, x * x)
UNARY(op_neg, at::neg(x))
UNARY(op_abs, at::abs(x))
UNARY(op_sigmoid, at::sigmoid(x))
UNARY(op_tanh, at::tanh(x))
UNARY(op_softplus, at::softplus(x))
UNARY(op_reciprocal, at::reciprocal(x))
UNARY(op_floor, at::floor(x))
UNARY(op_ceil, at::ceil(x))
UNARY(op_round, at::round(x))  // half to even, as tfjs
UNARY(op_sign, at::sign(x))
UNARY(op_sin, at::sin(x))
UNARY(op_cos, at::cos(x))
UNARY(op_erf, at::erf(x))
UNARY(op_elu, at::elu(x))
UNARY(op_selu, at::selu(x))
UNARY(op_isnan, at::isnan(x))
UNARY(op_isinf, at::isinf(x))
UNARY(op_isfinite, at::isfinite(x))
UNARY(op_logical_not, at::logical_not(x))
UNARY(op_zeros_like, at::zeros_like(x, at::MemoryFormat::Contiguous))
UNARY(op_ones_like, at::ones_like(x, at::MemoryFormat::Contiguous))

void op_step(Args& a, Out& o) {  // x > 0 ? 1 : alpha (NaN stays NaN)
  const at::Tensor& x = a.t();
  const double alpha = a.f();
  at::Tensor r = at::where(x > 0, at::ones({}, x.options()), at::full({}, alpha, x.options()));
  o.add(at::where(at::isnan(x), x, r));
}
void op_leaky_relu(Args& a, Out& o) {
  const at::Tensor& x = a.t();
  const double alpha = a.f();
  o.add(at::where(x < 0, x * alpha, x));
}
void op_clip(Args& a, Out& o) {
  const at::Tensor& x = a.t();
  const double lo = a.f();
  const double hi = a.f();
  o.add(at::clamp(x, lo, hi));
}
void op_cast(Args& a, Out& o) {
  const at::Tensor& x = a.t();
  const at::ScalarType t = toScalarType(static_cast<int>(a.i()));
  if (t == at::kBool) o.add(x != 0);
  else o.add(x.to(t));
}
// dy * (x > 0): the gradient of Relu in one pass
void op_relu_grad(Args& a, Out& o) {
  const at::Tensor& dy = a.t();
  const at::Tensor& x = a.t();
  o.add(at::threshold_backward(dy, x, 0));
}

// ---- binary (numpy broadcasting, as tfjs) -----------------------------------------------------
#define BINARY(NAME, EXPR)                   \
  void NAME(Args& a, Out& o) {               \
    const at::Tensor& x = a.t();             \
    const at::Tensor& y = a.t();             \
    o.add(EXPR);                             \
  }
BINARY(op_add, at::add(x, y))
BINARY(op_sub, at::sub(x, y))
BINARY(op_mul, at::mul(x, y))
BINARY(op_div, x.is_floating_point() ? at::div(x, y) : at::div(x, y).to(x.scalar_type()))
BINARY(op_floor_div, at::div(x, y, "floor").to(at::kInt))  // tfjs FloorDiv always yields int32
BINARY(op_maximum, at::maximum(x, y))
BINARY(op_minimum, at::minimum(x, y))
BINARY(op_pow, at::pow(x, y))
BINARY(op_sqdiff, at::square(at::sub(x, y)))
BINARY(op_eq, at::eq(x, y))
BINARY(op_ne, at::ne(x, y))
BINARY(op_gt, at::gt(x, y))
BINARY(op_ge, at::ge(x, y))
BINARY(op_lt, at::lt(x, y))
BINARY(op_le, at::le(x, y))
BINARY(op_and, at::logical_and(x, y))
BINARY(op_or, at::logical_or(x, y))
BINARY(op_mod, at::remainder(x, y))
BINARY(op_atan2, at::atan2(x, y))

void op_where(Args& a, Out& o) {
  const at::Tensor& c = a.t();
  const at::Tensor& t = a.t();
  const at::Tensor& e = a.t();
  o.add(at::where(c, t, e));
}

void op_add_n(Args& a, Out& o) {
  const int64_t n = a.i();
  at::Tensor acc = a.t();
  for (int64_t k = 1; k < n; k++) acc = at::add(acc, a.t());
  o.add(n == 1 ? acc.clone() : acc);
}

// ---- shape ------------------------------------------------------------------------------------
void op_reshape(Args& a, Out& o) {
  const at::Tensor& x = a.t();
  o.add(x.reshape(a.iv()));
}
void op_transpose(Args& a, Out& o) {  // a view: later kernels and reads handle the strides
  const at::Tensor& x = a.t();
  o.add(x.permute(a.iv()));
}
void op_contiguous(Args& a, Out& o) { o.add(a.t().contiguous()); }
void op_broadcast_to(Args& a, Out& o) {  // a view (stride 0): gradients of Sum/Mean
  const at::Tensor& x = a.t();
  o.add(x.expand(a.iv()));
}
void op_slice(Args& a, Out& o) {
  at::Tensor x = a.t();
  const auto begin = a.iv();
  const auto size = a.iv();
  for (size_t d = 0; d < begin.size(); d++) {
    if (begin[d] != 0 || size[d] != x.size(static_cast<int64_t>(d))) x = x.narrow(static_cast<int64_t>(d), begin[d], size[d]);
  }
  o.add(x);
}
// begin/end/strides already resolved by tfjs's slice_util (strides may be negative)
void op_strided_slice(Args& a, Out& o) {
  at::Tensor x = a.t();
  const auto begin = a.iv();
  const auto end = a.iv();
  const auto strides = a.iv();
  const auto outShape = a.iv();
  for (size_t d = 0; d < begin.size(); d++) {
    const int64_t dim = static_cast<int64_t>(d);
    const int64_t s = strides[d];
    if (s > 0) {
      const int64_t e = std::max(begin[d], std::min(end[d], x.size(dim)));
      x = x.slice(dim, begin[d], e, s);
    } else {
      // walk backwards: flip, then a positive stride
      const int64_t n = x.size(dim);
      const int64_t b = n - 1 - begin[d];
      const int64_t e = std::max<int64_t>(b, n - 1 - end[d]);
      x = x.flip({dim}).slice(dim, b, e, -s);
    }
  }
  o.add(x.reshape(outShape));
}
void op_pad(Args& a, Out& o) {  // pads in torch order (last dim first)
  const at::Tensor& x = a.t();
  const auto pads = a.iv();
  const double v = a.f();
  o.add(at::constant_pad_nd(x, pads, v));
}
void op_concat(Args& a, Out& o) {
  const int64_t n = a.i();
  std::vector<at::Tensor> xs;
  xs.reserve(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; k++) xs.push_back(a.t());
  o.add(at::cat(xs, a.i()));
}
void op_split(Args& a, Out& o) {
  const at::Tensor& x = a.t();
  const auto sizes = a.iv();
  const int64_t axis = a.i();
  for (auto& p : at::split_with_sizes(x, sizes, axis)) o.add(p);
}
void op_stack(Args& a, Out& o) {
  const int64_t n = a.i();
  std::vector<at::Tensor> xs;
  for (int64_t k = 0; k < n; k++) xs.push_back(a.t());
  o.add(at::stack(xs, a.i()));
}
void op_unstack(Args& a, Out& o) {
  const at::Tensor& x = a.t();
  for (auto& p : at::unbind(x, a.i())) o.add(p);
}
void op_tile(Args& a, Out& o) {
  const at::Tensor& x = a.t();
  o.add(x.repeat(a.iv()));
}
void op_reverse(Args& a, Out& o) {
  const at::Tensor& x = a.t();
  o.add(at::flip(x, a.iv()));
}

// ---- indexing ---------------------------------------------------------------------------------
void op_gather(Args& a, Out& o) {  // batchDims = 0
  const at::Tensor& x = a.t();
  const at::Tensor& idx = a.t();
  const int64_t axis = a.i();
  at::Tensor r = at::index_select(x, axis, idx.reshape({-1}).to(at::kLong));
  std::vector<int64_t> shape(x.sizes().begin(), x.sizes().begin() + axis);
  for (auto s : idx.sizes()) shape.push_back(s);
  for (int64_t d = axis + 1; d < x.dim(); d++) shape.push_back(x.size(d));
  o.add(r.reshape(shape));
}
void op_one_hot(Args& a, Out& o) {
  const at::Tensor& idx = a.t();
  const int64_t depth = a.i();
  const double on = a.f();
  const double off = a.f();
  const at::ScalarType t = toScalarType(static_cast<int>(a.i()));
  // out-of-range indices give a row of offValue, as in tfjs
  at::Tensor valid = (idx >= 0).logical_and(idx < depth);
  at::Tensor safe = at::where(valid, idx, at::zeros({}, idx.options())).to(at::kLong);
  at::Tensor oh = at::one_hot(safe, depth).logical_and(valid.unsqueeze(-1));
  o.add(at::where(oh, at::full({}, on, opts(at::kDouble)), at::full({}, off, opts(at::kDouble))).to(t));
}
void op_segment_sum(Args& a, Out& o) {
  const at::Tensor& x = a.t();
  const at::Tensor& ids = a.t();
  const int64_t n = a.i();
  const int64_t idRank = ids.dim();
  at::Tensor flatIds = ids.reshape({-1}).to(at::kLong);
  std::vector<int64_t> rowShape{flatIds.size(0)};
  std::vector<int64_t> outShape{n};
  for (int64_t d = idRank; d < x.dim(); d++) { rowShape.push_back(x.size(d)); outShape.push_back(x.size(d)); }
  at::Tensor rows = x.reshape(rowShape);
  at::Tensor keep = (flatIds >= 0).logical_and(flatIds < n);  // dropped, as in TensorFlow
  at::Tensor kept = at::nonzero(keep).reshape({-1});
  at::Tensor out = at::zeros(outShape, x.options());
  out.index_add_(0, flatIds.index_select(0, kept), rows.index_select(0, kept));
  o.add(out);
}
void op_topk(Args& a, Out& o) {
  const at::Tensor& x = a.t();
  const int64_t k = a.i();
  const bool sorted = a.b();
  auto r = at::topk(x, k, -1, true, sorted);
  o.add(std::get<0>(r));
  o.add(std::get<1>(r));
}

// ---- creation ---------------------------------------------------------------------------------
void op_fill(Args& a, Out& o) {
  const auto shape = a.iv();
  const double v = a.f();
  o.add(at::full(shape, v, opts(toScalarType(static_cast<int>(a.i())))));
}
void op_range(Args& a, Out& o) {
  const double start = a.f();
  const double step = a.f();
  const int64_t n = a.i();
  const at::ScalarType t = toScalarType(static_cast<int>(a.i()));
  o.add((at::arange(n, opts(at::kDouble)) * step + start).to(t));
}
void op_linspace(Args& a, Out& o) {
  const double start = a.f();
  const double stop = a.f();
  const int64_t n = a.i();
  o.add(at::linspace(start, stop, n, opts(at::kFloat)));
}

// ---- reductions (axes are non-empty, normalised in JS) -----------------------------------------
void op_sum(Args& a, Out& o) {
  const at::Tensor& x = a.t();
  const auto axes = a.iv();
  const bool keep = a.b();
  const at::ScalarType t = x.is_floating_point() ? x.scalar_type() : at::kInt;
  o.add(at::sum(x, axes, keep, t));
}
void op_mean(Args& a, Out& o) {
  const at::Tensor& x = a.t();
  const auto axes = a.iv();
  const bool keep = a.b();
  o.add(at::mean(x.is_floating_point() ? x : x.to(at::kFloat), axes, keep));
}
void op_max(Args& a, Out& o) {
  const at::Tensor& x = a.t();
  const auto axes = a.iv();
  o.add(at::amax(x, axes, a.b()));
}
void op_min(Args& a, Out& o) {
  const at::Tensor& x = a.t();
  const auto axes = a.iv();
  o.add(at::amin(x, axes, a.b()));
}
template <typename F>
at::Tensor reduceEach(at::Tensor x, std::vector<int64_t> axes, bool keep, F f) {
  std::sort(axes.begin(), axes.end(), std::greater<int64_t>());
  for (auto ax : axes) x = f(x, ax, keep);
  return x;
}
void op_prod(Args& a, Out& o) {
  const at::Tensor& x = a.t();
  const auto axes = a.iv();
  const bool keep = a.b();
  const at::ScalarType t = x.is_floating_point() ? x.scalar_type() : at::kInt;
  o.add(reduceEach(x, axes, keep, [t](const at::Tensor& v, int64_t d, bool k) { return at::prod(v, d, k, t); }));
}
void op_all(Args& a, Out& o) {
  const at::Tensor& x = a.t();
  const auto axes = a.iv();
  const bool keep = a.b();
  o.add(reduceEach(x, axes, keep, [](const at::Tensor& v, int64_t d, bool k) { return at::all(v, d, k); }));
}
void op_any(Args& a, Out& o) {
  const at::Tensor& x = a.t();
  const auto axes = a.iv();
  const bool keep = a.b();
  o.add(reduceEach(x, axes, keep, [](const at::Tensor& v, int64_t d, bool k) { return at::any(v, d, k); }));
}
void op_argmax(Args& a, Out& o) {
  const at::Tensor& x = a.t();
  o.add(at::argmax(x, a.i()));
}
void op_argmin(Args& a, Out& o) {
  const at::Tensor& x = a.t();
  o.add(at::argmin(x, a.i()));
}
void op_softmax(Args& a, Out& o) {
  const at::Tensor& x = a.t();
  o.add(at::softmax(x, a.i()));
}
void op_log_softmax(Args& a, Out& o) {
  const at::Tensor& x = a.t();
  o.add(at::log_softmax(x, a.i()));
}
void op_cumsum(Args& a, Out& o) {
  at::Tensor x = a.t();
  const int64_t axis = a.i();
  const bool exclusive = a.b();
  const bool reverse = a.b();
  if (reverse) x = x.flip({axis});
  at::Tensor c = at::cumsum(x, axis, x.is_floating_point() ? x.scalar_type() : at::kInt);
  if (exclusive) c = c - x;
  if (reverse) c = c.flip({axis});
  o.add(c);
}

// ---- matmul -----------------------------------------------------------------------------------
at::Tensor activate(at::Tensor y, int64_t act, double alpha, const c10::optional<at::Tensor>& prelu) {
  switch (act) {
    case 0: return y;                                 // linear
    case 1: return at::relu(y);                       // relu
    case 2: return at::clamp(y, 0, 6);                // relu6
    case 3: return at::where(y < 0, y * *prelu, y);   // prelu
    case 4: return at::where(y < 0, y * alpha, y);    // leakyrelu
    case 5: return at::sigmoid(y);                    // sigmoid
    case 6: return at::elu(y);                        // elu
    default: throw std::runtime_error("unknown activation");
  }
}
void op_matmul(Args& a, Out& o) {
  at::Tensor x = a.t();
  at::Tensor y = a.t();
  const bool ta = a.b();
  const bool tb = a.b();
  auto bias = a.opt();
  const int64_t act = a.i();
  const double alpha = a.f();
  auto prelu = a.opt();
  if (ta) x = x.transpose(-2, -1);
  if (tb) y = y.transpose(-2, -1);
  at::Tensor r = at::matmul(x, y);
  if (bias) r = r + *bias;
  o.add(activate(r, act, alpha, prelu));
}

// ---- convolution --------------------------------------------------------------------------------
struct ConvGeom {
  int64_t sh, sw, pt, pb, pl, pr, dh, dw, groups;
  bool symmetric() const { return pt == pb && pl == pr; }
};
ConvGeom readGeom(Args& a) {
  ConvGeom g;
  g.sh = a.i(); g.sw = a.i();
  g.pt = a.i(); g.pb = a.i(); g.pl = a.i(); g.pr = a.i();
  g.dh = a.i(); g.dw = a.i(); g.groups = a.i();
  return g;
}

// x NHWC, filter HWIO [fh, fw, in/groups, out], optional bias [out]
void op_conv2d(Args& a, Out& o) {
  const at::Tensor& x = a.t();
  const at::Tensor& w = a.t();
  auto bias = a.opt();
  const ConvGeom g = readGeom(a);
  const int64_t act = a.i();
  const double alpha = a.f();
  auto prelu = a.opt();
  at::Tensor xc = toNCHW(x);
  std::vector<int64_t> pad{g.pt, g.pl};
  if (!g.symmetric()) {  // tfjs 'same' puts the odd pixel bottom/right; torch pads symmetrically
    xc = at::constant_pad_nd(xc, {g.pl, g.pr, g.pt, g.pb}, 0);
    pad = {0, 0};
  }
  // at::conv2d (not at::convolution, which it calls): conv2d is on libtorch's autocast op lists.
  at::Tensor y = at::conv2d(xc, filterOIHW(w), bias, {g.sh, g.sw}, pad, {g.dh, g.dw}, g.groups);
  at::Tensor out = toNHWC(y);
  if (act != 0) out = activate(out, act, alpha, prelu);
  o.add(out);
}

// dy NHWC, filter HWIO -> dx NHWC of shape [n, h, w, c]
void op_conv2d_bwd_input(Args& a, Out& o) {
  const at::Tensor& dy = a.t();
  const at::Tensor& w = a.t();
  const int64_t n = a.i(), h = a.i(), wd = a.i(), c = a.i();
  const ConvGeom g = readGeom(a);
  const int64_t hp = h + g.pt + g.pb, wp = wd + g.pl + g.pr;
  std::vector<int64_t> pad{g.pt, g.pl};
  int64_t ih = h, iw = wd;
  if (!g.symmetric()) { pad = {0, 0}; ih = hp; iw = wp; }
  // Only the sizes (and memory format) of `input` matter when grad_weight is not requested.
  at::Tensor input = at::empty({n, c, ih, iw}, dy.options());
  auto r = at::convolution_backward(toNCHW(dy), input, filterOIHW(w), c10::nullopt, {g.sh, g.sw}, pad, {g.dh, g.dw},
                                    false, {0, 0}, g.groups, {true, false, false});
  at::Tensor dx = std::get<0>(r);
  if (!g.symmetric()) dx = dx.narrow(2, g.pt, h).narrow(3, g.pl, wd);
  o.add(toNHWC(dx));
}

// x NHWC, dy NHWC -> dW HWIO [fh, fw, in/groups, out]
void op_conv2d_bwd_filter(Args& a, Out& o) {
  const at::Tensor& x = a.t();
  const at::Tensor& dy = a.t();
  const int64_t fh = a.i(), fw = a.i(), ci = a.i(), co = a.i();
  const ConvGeom g = readGeom(a);
  const bool strided1x1 = fh == 1 && fw == 1 && (g.sh > 1 || g.sw > 1);
  // libtorch 1.13 (Debian) computes a wrong, thread-dependent grad_weight for 1x1 convolutions
  // with stride > 1 on channels-last input (checked from Python too). Those take other routes:
  if (strided1x1 && g.groups == 1 && g.pt == 0 && g.pb == 0 && g.pl == 0 && g.pr == 0 && g.dh == 1 && g.dw == 1) {
    // dW[ci, co] = sum over (n, oh, ow) of x[n, oh*sh, ow*sw, ci] * dy[n, oh, ow, co]: one matmul
    const int64_t oh = dy.size(1), ow = dy.size(2);
    at::Tensor xs = x.slice(1, 0, (oh - 1) * g.sh + 1, g.sh).slice(2, 0, (ow - 1) * g.sw + 1, g.sw);
    at::Tensor dw = at::matmul(xs.reshape({-1, ci}).t(), dy.reshape({-1, co}));
    o.add(dw.reshape({1, 1, ci, co}));
    return;
  }
  at::Tensor xc = toNCHW(x);
  at::Tensor dyc = toNCHW(dy);
  std::vector<int64_t> pad{g.pt, g.pl};
  if (!g.symmetric()) {
    xc = at::constant_pad_nd(xc, {g.pl, g.pr, g.pt, g.pb}, 0);
    pad = {0, 0};
  }
  at::Tensor weight = at::empty({co, ci, fh, fw}, x.options());
  auto r = at::convolution_backward(dyc, xc, weight, c10::nullopt, {g.sh, g.sw}, pad, {g.dh, g.dw},
                                    false, {0, 0}, g.groups, {false, true, false});
  o.add(contiguousCounted(std::get<1>(r).permute({2, 3, 1, 0})));
}

// dx and dW of one convolution in a single call (shares ATen's reorders of dy), as PyTorch's
// autograd does: x NHWC, dy NHWC, filter HWIO -> [dx NHWC, dW HWIO]
void op_conv2d_bwd_both(Args& a, Out& o) {
  const at::Tensor& x = a.t();
  const at::Tensor& dy = a.t();
  const at::Tensor& w = a.t();
  const ConvGeom g = readGeom(a);
  at::Tensor xc = toNCHW(x);
  std::vector<int64_t> pad{g.pt, g.pl};
  if (!g.symmetric()) {
    xc = at::constant_pad_nd(xc, {g.pl, g.pr, g.pt, g.pb}, 0);
    pad = {0, 0};
  }
  auto r = at::convolution_backward(toNCHW(dy), xc, filterOIHW(w), c10::nullopt, {g.sh, g.sw}, pad, {g.dh, g.dw},
                                    false, {0, 0}, g.groups, {true, true, false});
  at::Tensor dx = std::get<0>(r);
  if (!g.symmetric()) dx = dx.narrow(2, g.pt, x.size(1)).narrow(3, g.pl, x.size(2));
  o.add(toNHWC(dx));
  o.add(contiguousCounted(std::get<1>(r).permute({2, 3, 1, 0})));
}

// ---- pooling (NHWC; pads resolved by tfjs) -----------------------------------------------------
struct PoolGeom {
  int64_t kh, kw, sh, sw, pt, pb, pl, pr;
  bool symmetric() const { return pt == pb && pl == pr; }
};
PoolGeom readPool(Args& a) {
  PoolGeom g;
  g.kh = a.i(); g.kw = a.i(); g.sh = a.i(); g.sw = a.i();
  g.pt = a.i(); g.pb = a.i(); g.pl = a.i(); g.pr = a.i();
  return g;
}
// torch wants pad <= kernel/2; anything else is padded explicitly
bool torchPads(const PoolGeom& g) { return g.symmetric() && g.pt * 2 <= g.kh && g.pl * 2 <= g.kw; }

void op_max_pool(Args& a, Out& o) {
  const at::Tensor& x = a.t();
  const PoolGeom g = readPool(a);
  at::Tensor xc = toNCHW(x);
  std::vector<int64_t> pad{g.pt, g.pl};
  if (!torchPads(g)) {
    xc = at::constant_pad_nd(xc, {g.pl, g.pr, g.pt, g.pb}, -std::numeric_limits<double>::infinity());
    pad = {0, 0};
  }
  o.add(toNHWC(at::max_pool2d(xc, {g.kh, g.kw}, {g.sh, g.sw}, pad, {1, 1}, false)));
}
void op_max_pool_grad(Args& a, Out& o) {
  const at::Tensor& dy = a.t();
  const at::Tensor& x = a.t();
  const PoolGeom g = readPool(a);
  at::Tensor xc = toNCHW(x);
  std::vector<int64_t> pad{g.pt, g.pl};
  const bool explicitPad = !torchPads(g);
  if (explicitPad) {
    xc = at::constant_pad_nd(xc, {g.pl, g.pr, g.pt, g.pb}, -std::numeric_limits<double>::infinity());
    pad = {0, 0};
  }
  auto fwd = at::max_pool2d_with_indices(xc, {g.kh, g.kw}, {g.sh, g.sw}, pad, {1, 1}, false);
  at::Tensor dx = at::max_pool2d_with_indices_backward(toNCHW(dy), xc, {g.kh, g.kw}, {g.sh, g.sw}, pad, {1, 1}, false,
                                                       std::get<1>(fwd));
  if (explicitPad) dx = dx.narrow(2, g.pt, x.size(1)).narrow(3, g.pl, x.size(2));
  o.add(toNHWC(dx));
}
// Number of non-padded cells under each window (tfjs divides by it)
at::Tensor validCounts(const at::Tensor& x, const PoolGeom& g) {
  at::Tensor ones = at::ones({1, 1, x.size(1), x.size(2)}, x.options());
  ones = at::constant_pad_nd(ones, {g.pl, g.pr, g.pt, g.pb}, 0);
  return at::avg_pool2d(ones, {g.kh, g.kw}, {g.sh, g.sw}, {0, 0}, false, true, 1);
}
void op_avg_pool(Args& a, Out& o) {
  const at::Tensor& x = a.t();
  const PoolGeom g = readPool(a);
  at::Tensor xc = toNCHW(x);
  if (torchPads(g)) {
    o.add(toNHWC(at::avg_pool2d(xc, {g.kh, g.kw}, {g.sh, g.sw}, {g.pt, g.pl}, false, false)));
    return;
  }
  at::Tensor xp = at::constant_pad_nd(xc, {g.pl, g.pr, g.pt, g.pb}, 0);
  at::Tensor sum = at::avg_pool2d(xp, {g.kh, g.kw}, {g.sh, g.sw}, {0, 0}, false, true, 1);
  o.add(toNHWC(sum / validCounts(x, g)));
}
// tfjs's AvgPoolGrad (cpu, wasm, webgl) divides by the full window size kh*kw even where the
// forward pass divided by the number of valid cells; kept here so training matches the other backends.
void op_avg_pool_grad(Args& a, Out& o) {
  const at::Tensor& dy = a.t();
  const at::Tensor& x = a.t();
  const PoolGeom g = readPool(a);
  at::Tensor xc = toNCHW(x);
  if (torchPads(g)) {
    o.add(toNHWC(at::avg_pool2d_backward(toNCHW(dy), xc, {g.kh, g.kw}, {g.sh, g.sw}, {g.pt, g.pl}, false, true, c10::nullopt)));
    return;
  }
  at::Tensor xp = at::constant_pad_nd(xc, {g.pl, g.pr, g.pt, g.pb}, 0);
  at::Tensor dx = at::avg_pool2d_backward(toNCHW(dy), xp, {g.kh, g.kw}, {g.sh, g.sw}, {0, 0}, false, true, c10::nullopt);
  o.add(toNHWC(dx.narrow(2, g.pt, x.size(1)).narrow(3, g.pl, x.size(2))));
}

// ---- batch norm -------------------------------------------------------------------------------
// FusedBatchNorm with per-channel statistics (inference formula), x [N,H,W,C]
void op_batch_norm(Args& a, Out& o) {
  const at::Tensor& x = a.t();
  const at::Tensor& mean = a.t();
  const at::Tensor& var = a.t();
  auto offset = a.opt();
  auto scale = a.opt();
  const double eps = a.f();
  const int64_t c = x.size(3);
  auto perC = [c](const at::Tensor& t) { return t.numel() == c ? t.reshape({c}) : t.reshape({1}).expand({c}).contiguous(); };
  c10::optional<at::Tensor> w, b;
  if (scale) w = perC(*scale);
  if (offset) b = perC(*offset);
  if (at::GradMode::is_enabled() && (mean.requires_grad() || var.requires_grad())) {
    // Recording autograd with statistics that carry gradient (tf.moments + tf.batchNorm): ATen's
    // batch norm gives running_mean/var no gradient, so the formula is spelled out (NHWC broadcasts).
    at::Tensor y = (x - mean.reshape({-1})) * at::rsqrt(var.reshape({-1}) + eps);
    if (scale) y = y * scale->reshape({-1});
    if (offset) y = y + offset->reshape({-1});
    o.add(y);
    return;
  }
  o.add(toNHWC(at::batch_norm(toNCHW(x), w, b, perC(mean), perC(var), false, 0.0, eps, false)));
}
// Training batch norm in one pass: outputs y, batch mean, biased variance, inverse std.
void op_bn_train(Args& a, Out& o) {
  const at::Tensor& x = a.t();
  const at::Tensor& gamma = a.t();
  const at::Tensor& beta = a.t();
  const double eps = a.f();
  auto r = at::native_batch_norm(toNCHW(x), gamma, beta, c10::nullopt, c10::nullopt, true, 0.0, eps);
  // The statistics are for the running averages and the tape's gradient kernel: they never carry
  // gradient (recording autograd, the graph runs through y alone, as in PyTorch's batch norm).
  at::Tensor invstd = std::get<2>(r).detach();
  o.add(toNHWC(std::get<0>(r)));
  o.add(std::get<1>(r).detach());
  o.add(at::reciprocal(invstd * invstd) - eps);
  o.add(invstd);
}
// Running-statistics update of the training batch norm in one call (detached: buffers carry no
// gradient): r_mean·a + mean·b, r_var·a + var·c, with a = 1 − m, b = m, c = m·n/(n − 1) from JS,
// as float32 scalars like the tfjs ops it replaces (bit-identical to them).
void op_bn_running(Args& a, Out& o) {
  const at::Tensor& rm = a.t();
  const at::Tensor& rv = a.t();
  const at::Tensor& mean = a.t();
  const at::Tensor& var = a.t();
  auto s = [](double v) { return at::scalar_tensor(v, at::TensorOptions().dtype(at::kFloat)); };
  const at::Tensor ka = s(a.f()), kb = s(a.f()), kc = s(a.f());
  at::NoGradGuard noGrad;
  o.add(at::add(at::mul(rm, ka), at::mul(mean.detach(), kb)));
  o.add(at::add(at::mul(rv, ka), at::mul(var.detach(), kc)));
}
// Gradient of bn_train w.r.t. x, gamma and beta (batch statistics differentiated too)
void op_bn_train_grad(Args& a, Out& o) {
  const at::Tensor& dy = a.t();
  const at::Tensor& x = a.t();
  const at::Tensor& gamma = a.t();
  const at::Tensor& mean = a.t();
  const at::Tensor& invstd = a.t();
  const double eps = a.f();
  auto r = at::native_batch_norm_backward(toNCHW(dy), toNCHW(x), gamma, c10::nullopt, c10::nullopt, mean, invstd, true, eps,
                                          {true, true, true});
  o.add(toNHWC(std::get<0>(r)));
  o.add(std::get<1>(r));
  o.add(std::get<2>(r));
}

// Identity without gradient (PyTorch's .detach(); a view, no copy): stop-gradient on the native
// autograd path, where tf.customGrad never reaches the backend.
void op_detach(Args& a, Out& o) { o.add(a.t().detach()); }

void op_einsum(Args& a, Out& o) {
  // equation chars are passed as numbers, then the operands
  const auto chars = a.iv();
  std::string eq(chars.begin(), chars.end());
  const int64_t n = a.i();
  std::vector<at::Tensor> xs;
  for (int64_t k = 0; k < n; k++) xs.push_back(a.t());
  o.add(at::einsum(eq, xs));
}

}  // namespace

const std::vector<OpEntry>& ops() {
  static const std::vector<OpEntry> table = {
      {"identity", op_identity}, {"relu", op_relu}, {"relu6", op_relu6}, {"exp", op_exp}, {"log", op_log},
      {"log1p", op_log1p}, {"expm1", op_expm1}, {"sqrt", op_sqrt}, {"rsqrt", op_rsqrt}, {"square", op_square},
      {"neg", op_neg}, {"abs", op_abs}, {"sigmoid", op_sigmoid}, {"tanh", op_tanh}, {"softplus", op_softplus},
      {"reciprocal", op_reciprocal}, {"floor", op_floor}, {"ceil", op_ceil}, {"round", op_round}, {"sign", op_sign},
      {"sin", op_sin}, {"cos", op_cos}, {"erf", op_erf}, {"elu", op_elu}, {"selu", op_selu}, {"isnan", op_isnan},
      {"isinf", op_isinf}, {"isfinite", op_isfinite}, {"logical_not", op_logical_not}, {"zeros_like", op_zeros_like},
      {"ones_like", op_ones_like}, {"step", op_step}, {"leaky_relu", op_leaky_relu}, {"clip", op_clip},
      {"cast", op_cast}, {"relu_grad", op_relu_grad},
      {"add", op_add}, {"sub", op_sub}, {"mul", op_mul}, {"div", op_div}, {"floor_div", op_floor_div},
      {"maximum", op_maximum}, {"minimum", op_minimum}, {"pow", op_pow}, {"sqdiff", op_sqdiff}, {"eq", op_eq},
      {"ne", op_ne}, {"gt", op_gt}, {"ge", op_ge}, {"lt", op_lt}, {"le", op_le}, {"and", op_and}, {"or", op_or},
      {"mod", op_mod}, {"atan2", op_atan2}, {"where", op_where}, {"add_n", op_add_n},
      {"reshape", op_reshape}, {"transpose", op_transpose}, {"contiguous", op_contiguous},
      {"broadcast_to", op_broadcast_to}, {"slice", op_slice}, {"strided_slice", op_strided_slice}, {"pad", op_pad},
      {"concat", op_concat}, {"split", op_split}, {"stack", op_stack}, {"unstack", op_unstack}, {"tile", op_tile},
      {"reverse", op_reverse}, {"gather", op_gather}, {"one_hot", op_one_hot}, {"segment_sum", op_segment_sum},
      {"topk", op_topk}, {"fill", op_fill}, {"range", op_range}, {"linspace", op_linspace},
      {"sum", op_sum}, {"mean", op_mean}, {"max", op_max}, {"min", op_min}, {"prod", op_prod}, {"all", op_all},
      {"any", op_any}, {"argmax", op_argmax}, {"argmin", op_argmin}, {"softmax", op_softmax},
      {"log_softmax", op_log_softmax}, {"cumsum", op_cumsum}, {"matmul", op_matmul},
      {"conv2d", op_conv2d}, {"conv2d_bwd_input", op_conv2d_bwd_input}, {"conv2d_bwd_filter", op_conv2d_bwd_filter},
      {"conv2d_bwd_both", op_conv2d_bwd_both},
      {"max_pool", op_max_pool}, {"max_pool_grad", op_max_pool_grad}, {"avg_pool", op_avg_pool},
      {"avg_pool_grad", op_avg_pool_grad}, {"batch_norm", op_batch_norm}, {"bn_train", op_bn_train},
      {"bn_train_grad", op_bn_train_grad}, {"einsum", op_einsum},
      {"detach", op_detach}, {"bn_running", op_bn_running},
  };
  return table;
}

}  // namespace lt
