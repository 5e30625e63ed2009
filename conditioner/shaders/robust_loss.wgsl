// Fused multi-scale robust loss over two prediction/target pairs (the conditioner's y1 and y2):
// one pass reads each prediction and target once, reduces the six terms
// (MSE, MAE, SmoothL1 of each pair) and writes d total / d prediction.
//   L(d) = mse_w * mean(d^2) + mae_w * mean(|d|) + huber_w * mean(smoothl1(d, beta))
//   total = main_w * L(p1 - t1) + hier_w * L(p2 - t2)
// One workgroup: the latents are small (batch x 56 values), so a single tree reduction is cheap.

struct Params {
  n1: u32,
  n2: u32,
  mse_w: f32,
  mae_w: f32,
  huber_w: f32,
  beta: f32,
  main_w: f32,
  hier_w: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> pred1: array<f32>;
@group(0) @binding(2) var<storage, read> target1: array<f32>;
@group(0) @binding(3) var<storage, read> pred2: array<f32>;
@group(0) @binding(4) var<storage, read> target2: array<f32>;
@group(0) @binding(5) var<storage, read_write> grad1: array<f32>;
@group(0) @binding(6) var<storage, read_write> grad2: array<f32>;
// [total, mse1, mae1, huber1, mse2, mae2, huber2] (term means, unweighted; total weighted)
@group(0) @binding(7) var<storage, read_write> terms: array<f32>;

const NT: u32 = 256u;
var<workgroup> partial: array<array<f32, 6>, NT>;

fn huber(d: f32) -> f32 {
  let a = abs(d);
  return select(a - 0.5 * params.beta, 0.5 * d * d / params.beta, a < params.beta);
}

fn huber_grad(d: f32) -> f32 {
  return select(sign(d), d / params.beta, abs(d) < params.beta);
}

// Local gradient of one element of a pair with n elements and pair weight w.
fn local_grad(d: f32, n: u32, w: f32) -> f32 {
  return w * (params.mse_w * 2.0 * d + params.mae_w * sign(d) + params.huber_w * huber_grad(d)) / f32(n);
}

@compute @workgroup_size(NT)
fn robust_loss(@builtin(local_invocation_id) lid3: vec3<u32>) {
  let lid = lid3.x;
  var s = array<f32, 6>(0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
  for (var i = lid; i < params.n1; i += NT) {
    let d = pred1[i] - target1[i];
    s[0] += d * d;
    s[1] += abs(d);
    s[2] += huber(d);
    grad1[i] = local_grad(d, params.n1, params.main_w);
  }
  for (var i = lid; i < params.n2; i += NT) {
    let d = pred2[i] - target2[i];
    s[3] += d * d;
    s[4] += abs(d);
    s[5] += huber(d);
    grad2[i] = local_grad(d, params.n2, params.hier_w);
  }
  partial[lid] = s;
  workgroupBarrier();
  for (var stride = NT / 2u; stride > 0u; stride = stride / 2u) {
    if (lid < stride) {
      for (var j = 0u; j < 6u; j++) { partial[lid][j] += partial[lid + stride][j]; }
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    let r = partial[0];
    let m1 = vec3<f32>(r[0], r[1], r[2]) / f32(params.n1);
    let m2 = vec3<f32>(r[3], r[4], r[5]) / f32(params.n2);
    let w = vec3<f32>(params.mse_w, params.mae_w, params.huber_w);
    terms[0] = params.main_w * dot(w, m1) + params.hier_w * dot(w, m2);
    terms[1] = m1.x;
    terms[2] = m1.y;
    terms[3] = m1.z;
    terms[4] = m2.x;
    terms[5] = m2.y;
    terms[6] = m2.z;
  }
}
