// Elementwise kernels (binary ops read src and rhs). OP (a compile-time constant) selects the function, so each op gets its
// own specialised pipeline with no runtime branching. Op codes match engine/ops/elementwise.ts.
// The `*4` entries do four elements per thread through vec4 bindings (sizes divisible by 4),
// a quarter of the threads and load instructions.

struct Params {
  n: u32,
  // fill: the raw bits of the value
  bits: u32,
  // parameter of leaky_relu (slope), scale (factor), clamp_min (min), huber (beta), add_scalar
  alpha: f32,
  rank: u32,
  // broadcasting binary ops: output shape and per-operand element strides (0 = broadcast)
  shape: array<vec4<u32>, 2>,
  a_strides: array<vec4<u32>, 2>,
  b_strides: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> rhs: array<f32>;
@group(0) @binding(3) var<storage, read> grad: array<f32>;
@group(0) @binding(4) var<storage, read_write> dst_bits: array<u32>;
@group(0) @binding(5) var<storage, read_write> dst: array<f32>;
@group(0) @binding(6) var<storage, read> src4: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read> rhs4: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read> grad4: array<vec4<f32>>;
@group(0) @binding(9) var<storage, read_write> dst4: array<vec4<f32>>;

const NEG: u32 = 0u;
const EXP: u32 = 1u;
const LOG: u32 = 2u;
const SQRT: u32 = 3u;
const RELU: u32 = 4u;
const LEAKY_RELU: u32 = 5u;
const SILU: u32 = 6u;
const GELU: u32 = 7u;
const SIGMOID: u32 = 8u;
const TANH: u32 = 9u;
const SCALE: u32 = 10u;
const ABS: u32 = 11u;
const SQUARE: u32 = 12u;
const CLAMP_MIN: u32 = 13u;
const HUBER: u32 = 14u;
const ADD_SCALAR: u32 = 15u;

const ADD: u32 = 0u;
const SUB: u32 = 1u;
const MUL: u32 = 2u;
const DIV: u32 = 3u;

// erf with |error| < 1.2e-7 (Numerical Recipes erfc, Chebyshev fit); WGSL has no erf.
fn erf_approx(x: f32) -> f32 {
  let z = abs(x);
  let t = 1.0 / (1.0 + 0.5 * z);
  let r = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
    t * (-0.82215223 + t * 0.17087277)))))))));
  return select(r - 1.0, 1.0 - r, x >= 0.0);
}

fn sigmoid(x: f32) -> f32 {
  return 1.0 / (1.0 + exp(-x));
}

// NaN test on the bits: comparisons with NaN may be folded away by a driver's fast-math.
fn is_nan(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}

// clamp() and max() may turn NaN into a number; these keep it, so a diverged model's outputs
// and loss stay NaN and the trainer notices.
fn keep_nan(result: f32, x: f32) -> f32 {
  return select(result, x, is_nan(x));
}

fn stable_tanh(x: f32) -> f32 {
  // tanh() of large |x| returns NaN on some drivers; saturate explicitly.
  let c = clamp(x, -15.0, 15.0);
  let e = exp(2.0 * c);
  return keep_nan((e - 1.0) / (e + 1.0), x);
}

fn forward(x: f32) -> f32 {
  let alpha = params.alpha;
  switch OP {
    case NEG: { return -x; }
    case EXP: { return exp(x); }
    case LOG: { return log(x); }
    case SQRT: { return sqrt(x); }
    case RELU: { return keep_nan(max(x, 0.0), x); }
    case LEAKY_RELU: { return select(x * alpha, x, x > 0.0); }
    case SILU: { return x * sigmoid(x); }
    case GELU: { return 0.5 * x * (1.0 + erf_approx(x * 0.7071067811865476)); }
    case SIGMOID: { return sigmoid(x); }
    case TANH: { return stable_tanh(x); }
    case SCALE: { return x * alpha; }
    case ABS: { return abs(x); }
    case SQUARE: { return x * x; }
    case CLAMP_MIN: { return keep_nan(max(x, alpha), x); }
    case HUBER: { return select(abs(x) - 0.5 * alpha, 0.5 * x * x / alpha, abs(x) < alpha); }
    case ADD_SCALAR: { return x + alpha; }
    default: { return x; }
  }
}

// d forward(x) / dx
fn derivative(x: f32) -> f32 {
  let alpha = params.alpha;
  switch OP {
    case NEG: { return -1.0; }
    case EXP: { return exp(x); }
    case LOG: { return 1.0 / x; }
    case SQRT: { return 0.5 / sqrt(x); }
    case RELU: { return select(0.0, 1.0, x > 0.0); }
    case LEAKY_RELU: { return select(alpha, 1.0, x > 0.0); }
    case SILU: { let s = sigmoid(x); return s * (1.0 + x * (1.0 - s)); }
    case GELU: {
      let cdf = 0.5 * (1.0 + erf_approx(x * 0.7071067811865476));
      return cdf + x * 0.3989422804014327 * exp(-0.5 * x * x);
    }
    case SIGMOID: { let s = sigmoid(x); return s * (1.0 - s); }
    case TANH: { let t = stable_tanh(x); return 1.0 - t * t; }
    case SCALE: { return alpha; }
    case ABS: { return sign(x); }
    case SQUARE: { return 2.0 * x; }
    case CLAMP_MIN: { return select(0.0, 1.0, x >= alpha); }
    case HUBER: { return select(sign(x), x / alpha, abs(x) < alpha); }
    default: { return 1.0; }
  }
}

fn apply(x: f32, y: f32) -> f32 {
  switch OP {
    case ADD: { return x + y; }
    case SUB: { return x - y; }
    case MUL: { return x * y; }
    case DIV: { return x / y; }
    default: { return x; }
  }
}

fn dim(v: array<vec4<u32>, 2>, d: u32) -> u32 {
  return v[d / 4u][d % 4u];
}

@compute @workgroup_size(WG)
fn fill(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.n) { return; }
  dst_bits[i] = params.bits;
}

@compute @workgroup_size(WG)
fn unary(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.n) { return; }
  dst[i] = forward(src[i]);
}

// dst = grad * forward'(src)
@compute @workgroup_size(WG)
fn unary_grad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.n) { return; }
  dst[i] = grad[i] * derivative(src[i]);
}

// Same-shape operands: no index arithmetic.
@compute @workgroup_size(WG)
fn binary_same(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.n) { return; }
  dst[i] = apply(src[i], rhs[i]);
}

@compute @workgroup_size(WG)
fn unary4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.n) { return; }
  let x = src4[i];
  dst4[i] = vec4<f32>(forward(x.x), forward(x.y), forward(x.z), forward(x.w));
}

@compute @workgroup_size(WG)
fn unary_grad4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.n) { return; }
  let x = src4[i];
  dst4[i] = grad4[i] * vec4<f32>(derivative(x.x), derivative(x.y), derivative(x.z), derivative(x.w));
}

@compute @workgroup_size(WG)
fn binary_same4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.n) { return; }
  let a = src4[i];
  let b = rhs4[i];
  dst4[i] = vec4<f32>(apply(a.x, b.x), apply(a.y, b.y), apply(a.z, b.z), apply(a.w, b.w));
}

@compute @workgroup_size(WG)
fn axpy4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.n) { return; }
  dst4[i] += params.alpha * src4[i];
}

@compute @workgroup_size(WG)
fn binary_broadcast(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.n) { return; }
  var rest = i;
  var ia = 0u;
  var ib = 0u;
  for (var d = params.rank; d > 0u; d--) {
    let size = dim(params.shape, d - 1u);
    let idx = rest % size;
    rest = rest / size;
    ia += idx * dim(params.a_strides, d - 1u);
    ib += idx * dim(params.b_strides, d - 1u);
  }
  dst[i] = apply(src[ia], rhs[ib]);
}

// In place: dst += alpha * src (parameter updates; dst is bound read_write).
@compute @workgroup_size(WG)
fn axpy(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.n) { return; }
  dst[i] += params.alpha * src[i];
}

// Broadcasting binary op over at most three collapsed dims [d0, d1, d2], one thread per element
// on a 3-D grid: the thread's coordinates are the index, so no integer division is needed
// (llvmpipe divides slowly). shape = [d0, d1, d2]; strides per operand, 0 where broadcast.
@compute @workgroup_size(WG)
fn binary_3d(@builtin(global_invocation_id) gid: vec3<u32>) {
  let d2 = params.shape[0].z;
  if (gid.x >= d2) { return; }
  let sa = params.a_strides[0];
  let sb = params.b_strides[0];
  let ia = gid.z * sa.x + gid.y * sa.y + gid.x * sa.z;
  let ib = gid.z * sb.x + gid.y * sb.y + gid.x * sb.z;
  dst[(gid.z * params.shape[0].y + gid.y) * d2 + gid.x] = apply(src[ia], rhs[ib]);
}

// binary_3d with four consecutive outputs per thread (d2 a multiple of 4; each operand's
// innermost stride 0, a broadcast, or 1). Grid x counts vec4s.
@compute @workgroup_size(WG)
fn binary_3d4(@builtin(global_invocation_id) gid: vec3<u32>) {
  let d2 = params.shape[0].z;
  let x = gid.x * 4u;
  if (x >= d2) { return; }
  let sa = params.a_strides[0];
  let sb = params.b_strides[0];
  let ia = gid.z * sa.x + gid.y * sa.y + x * sa.z;
  let ib = gid.z * sb.x + gid.y * sb.y + x * sb.z;
  let a = vec4<f32>(src[ia], src[ia + sa.z], src[ia + 2u * sa.z], src[ia + 3u * sa.z]);
  let b = vec4<f32>(rhs[ib], rhs[ib + sb.z], rhs[ib + 2u * sb.z], rhs[ib + 3u * sb.z]);
  dst4[((gid.z * params.shape[0].y + gid.y) * d2 + x) / 4u] = vec4<f32>(apply(a.x, b.x), apply(a.y, b.y), apply(a.z, b.z), apply(a.w, b.w));
}

// Fused residual activation: dst = forward(src + rhs) for same-shape operands (addSilu: OP is
// SILU), one pass instead of an add and a unary op.
@compute @workgroup_size(WG)
fn add_unary(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.n) { return; }
  dst[i] = forward(src[i] + rhs[i]);
}

@compute @workgroup_size(WG)
fn add_unary4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.n) { return; }
  let z = src4[i] + rhs4[i];
  dst4[i] = vec4<f32>(forward(z.x), forward(z.y), forward(z.z), forward(z.w));
}

// Its backward: dst = grad * forward'(src + rhs), the gradient of both operands. The sum is
// recomputed (one more read) rather than stored by the forward (one more write and tensor).
@compute @workgroup_size(WG)
fn add_unary_grad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.n) { return; }
  dst[i] = grad[i] * derivative(src[i] + rhs[i]);
}

@compute @workgroup_size(WG)
fn add_unary_grad4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.n) { return; }
  let z = src4[i] + rhs4[i];
  dst4[i] = grad4[i] * vec4<f32>(derivative(z.x), derivative(z.y), derivative(z.z), derivative(z.w));
}
