// Training-batch augmentation (conditioner/augment.ts). Every random decision is made on the CPU
// and arrives here as numbers: the uniforms (mixup lambda, noise std and seed) and one record of
// SAMPLE_STRIDE floats per sample in `per_sample`:
//   [0] flip (1 = mirror the width axis)   [1] shift along width   [2] shift along height
//   [3] resample (1 = apply the 2x2 matrix below with bilinear sampling, 0 = pixel copy)
//   [4..7] a00 a01 a10 a11: normalised source = A * normalised output (affine_grid's theta)
//   [8] mixup partner (the permutation's entry for this sample)   [9..11] unused
//
// `augment_image` computes, for every output element, in this order:
//   1. flip then wrap-around shift (torch.flip(dims=[-1]) then torch.roll), both exact pixel
//      permutations, folded into the address of each bilinear tap;
//   2. rotation and scale as ONE bilinear resample with border padding, exactly like
//      F.grid_sample(F.affine_grid(A), mode="bilinear", padding_mode="border",
//      align_corners=False) applied to the flipped and shifted image;
//   3. mixup: lam * (steps 1-2 of this sample) + (1 - lam) * (steps 1-2 of its partner);
//   4. Gaussian noise: + noise_std * N(0, 1) from Philox keyed by (noise_seed, element index).

const SAMPLE_STRIDE: u32 = 12u;

struct Params {
  n: u32,
  channels: u32,
  height: u32,
  width: u32,
  // mix_rows: elements per sample row
  row_len: u32,
  // 1 when mixup is applied
  mixup_on: u32,
  lam: f32,
  // 0 when no noise is added
  noise_std: f32,
  noise_seed: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> per_sample: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;

// v mod size in [0, size). `%` only ever sees non-negative operands: GLSL leaves the remainder
// of a negative operand undefined (wgpu's OpenGL backend gives wrong pixels with it).
fn wrap(v: i32, size: i32) -> i32 {
  let m = abs(v) % size;
  return select(m, (size - m) % size, v < 0);
}

// Pixel (row, col) of sample `s`'s flipped-then-shifted image, border-clamped first (what
// grid_sample's border padding reads), then mapped back to the source image.
fn tap(base: u32, s: u32, row: i32, col: i32) -> f32 {
  let h = i32(params.height);
  let w = i32(params.width);
  let p = s * SAMPLE_STRIDE;
  let rc = clamp(row, 0, h - 1);
  let cc = clamp(col, 0, w - 1);
  // roll: shifted[r][c] = flipped[(r - dy) mod H][(c - dx) mod W]
  let sr = wrap(rc - i32(per_sample[p + 2u]), h);
  var sc = wrap(cc - i32(per_sample[p + 1u]), w);
  // flip: flipped[r][c] = image[r][W - 1 - c]
  if (per_sample[p] > 0.5) { sc = w - 1 - sc; }
  return src[base + u32(sr) * params.width + u32(sc)];
}

// Steps 1-2 for output pixel (i, j) of channel `ch` of sample `s`.
fn geometric(s: u32, ch: u32, i: u32, j: u32) -> f32 {
  let base = (s * params.channels + ch) * params.height * params.width;
  let p = s * SAMPLE_STRIDE;
  if (per_sample[p + 3u] < 0.5) { return tap(base, s, i32(i), i32(j)); }
  let wf = f32(params.width);
  let hf = f32(params.height);
  // affine_grid's base grid (align_corners=False): pixel centres in [-1, 1]
  let xn = (2.0 * f32(j) + 1.0) / wf - 1.0;
  let yn = (2.0 * f32(i) + 1.0) / hf - 1.0;
  let xs = per_sample[p + 4u] * xn + per_sample[p + 5u] * yn;
  let ys = per_sample[p + 6u] * xn + per_sample[p + 7u] * yn;
  // grid_sample: unnormalise (align_corners=False), then border padding clips the coordinate
  let ix = clamp(((xs + 1.0) * wf - 1.0) * 0.5, 0.0, wf - 1.0);
  let iy = clamp(((ys + 1.0) * hf - 1.0) * 0.5, 0.0, hf - 1.0);
  let x0 = floor(ix);
  let y0 = floor(iy);
  let fx = ix - x0;
  let fy = iy - y0;
  let c0 = i32(x0);
  let r0 = i32(y0);
  let top = (1.0 - fx) * tap(base, s, r0, c0) + fx * tap(base, s, r0, c0 + 1);
  let bottom = (1.0 - fx) * tap(base, s, r0 + 1, c0) + fx * tap(base, s, r0 + 1, c0 + 1);
  return (1.0 - fy) * top + fy * bottom;
}

@compute @workgroup_size(WG)
fn augment_image(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let idx = thread_index(wid, nwg, lid);
  if (idx >= params.n) { return; }
  let plane = params.height * params.width;
  let j = idx % params.width;
  let i = (idx / params.width) % params.height;
  let ch = (idx / plane) % params.channels;
  let s = idx / (plane * params.channels);
  var v = geometric(s, ch, i, j);
  if (params.mixup_on == 1u) {
    let partner = u32(per_sample[s * SAMPLE_STRIDE + 8u]);
    v = params.lam * v + (1.0 - params.lam) * geometric(partner, ch, i, j);
  }
  if (params.noise_std > 0.0) {
    let bits = philox4x32(vec4<u32>(idx, 0u, 7u, 0u), vec2<u32>(params.noise_seed, 0x243F6A88u));
    // Box-Muller; 1 - u keeps the log argument in (0, 1].
    let u1 = 1.0 - u32_to_unit(bits.x);
    let u2 = u32_to_unit(bits.y);
    v += params.noise_std * sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
  }
  dst[idx] = v;
}

// Mixup of per-sample rows (targets): dst[s, k] = lam * src[s, k] + (1 - lam) * src[partner(s), k].
@compute @workgroup_size(WG)
fn mix_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let idx = thread_index(wid, nwg, lid);
  if (idx >= params.n) { return; }
  let s = idx / params.row_len;
  let k = idx % params.row_len;
  let partner = u32(per_sample[s * SAMPLE_STRIDE + 8u]);
  dst[idx] = params.lam * src[idx] + (1.0 - params.lam) * src[partner * params.row_len + k];
}
