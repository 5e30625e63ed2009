// Optimizer kernels over packed parameter/gradient/state buffers: one dispatch updates every
// parameter of a model.

struct Params {
  n: u32,
  lr: f32,
  beta1: f32,
  beta2: f32,
  eps: f32,
  weight_decay: f32,
  // 1 - beta1^t and sqrt(1 - beta2^t)
  bias_correction1: f32,
  bias_correction2_sqrt: f32,
  max_norm: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> exp_avg: array<f32>;
@group(0) @binding(4) var<storage, read_write> exp_avg_sq: array<f32>;
@group(0) @binding(5) var<storage, read> total_norm: array<f32>;
@group(0) @binding(6) var<storage, read_write> grad_rw: array<f32>;

// torch.optim.AdamW (amsgrad off), step for one element.
@compute @workgroup_size(WG)
fn adamw(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.n) { return; }
  let gi = grad[i];
  let p = param[i] * (1.0 - params.lr * params.weight_decay);
  let m = params.beta1 * exp_avg[i] + (1.0 - params.beta1) * gi;
  let v = params.beta2 * exp_avg_sq[i] + (1.0 - params.beta2) * gi * gi;
  exp_avg[i] = m;
  exp_avg_sq[i] = v;
  let denom = sqrt(v) / params.bias_correction2_sqrt + params.eps;
  param[i] = p - (params.lr / params.bias_correction1) * m / denom;
}

// torch.nn.utils.clip_grad_norm_: grad *= min(1, max_norm / (total_norm + 1e-6)).
@compute @workgroup_size(WG)
fn clip_scale(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.n) { return; }
  let coef = min(1.0, params.max_norm / (total_norm[0] + 1e-6));
  grad_rw[i] = grad_rw[i] * coef;
}
