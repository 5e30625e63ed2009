// Batched matmul C[b] = A[b] @ B[b] (+ bias[n]) with workgroup-memory tiles, the layout real GPUs
// want: a workgroup of SM_T x SM_T invocations computes a (4 SM_T) x (4 SM_T) block of C, each
// invocation a 4x4 register tile. Per step of BK along K the workgroup stages the A and B blocks
// it needs in workgroup memory (each value read from memory once, coalesced along the operand's
// contiguous dimension), then every invocation reads its rows and columns from there as vec4s.
// Operands are read through element strides, as they are (no packing). On llvmpipe barriers make
// this slower than the texel-buffer kernel; the autotuner decides per adapter.
//
// Long K is split like `matmul` (shaders/matmul.wgsl): split s covers [s * k_chunk, (s + 1) *
// k_chunk) and writes dst[idx * splits + s]; a second pass sums. Values past an edge are staged
// as zeros, so the inner loop has no bounds checks.

struct Params {
  m: u32,
  n: u32,
  k: u32,
  splits: u32,
  k_chunk: u32,
  a_stride_m: u32,
  a_stride_k: u32,
  a_stride_batch: u32,
  b_stride_k: u32,
  b_stride_n: u32,
  b_stride_batch: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> lhs: array<f32>;
@group(0) @binding(2) var<storage, read> rhs: array<f32>;
@group(0) @binding(3) var<storage, read> bias_in: array<f32>;
@group(0) @binding(4) var<storage, read_write> dst: array<f32>;

const BLOCK: u32 = 4u * SM_T;
// vec4s each invocation stages per operand and K step (BK is a multiple of SM_T).
const LOADS: u32 = BK / SM_T;

// Staged blocks, [BK][SM_T] vec4s: row kk holds the block's 4 SM_T M (N) values at K step kk.
var<workgroup> a_s: array<vec4<f32>, BK * SM_T>;
var<workgroup> b_s: array<vec4<f32>, BK * SM_T>;

// Value (row, k) of an operand, zero past the edges.
fn load_a(base: u32, row: u32, k: u32, k_end: u32) -> f32 {
  if (row >= params.m || k >= k_end) { return 0.0; }
  return lhs[base + row * params.a_stride_m + k * params.a_stride_k];
}

fn load_b(base: u32, col: u32, k: u32, k_end: u32) -> f32 {
  if (col >= params.n || k >= k_end) { return 0.0; }
  return rhs[base + k * params.b_stride_k + col * params.b_stride_n];
}

@compute @workgroup_size(SM_T, SM_T, 1)
fn matmul_shared(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
) {
  let batch = wid.z / params.splits;
  let split = wid.z % params.splits;
  let m_base = wid.y * BLOCK;
  let n_base = wid.x * BLOCK;
  let tid = lid.y * SM_T + lid.x;
  let a_base = batch * params.a_stride_batch;
  let b_base = batch * params.b_stride_batch;
  let k_begin = split * params.k_chunk;
  let k_end = min(k_begin + params.k_chunk, params.k);

  var acc: array<vec4<f32>, 4>;
  for (var k0 = k_begin; k0 < k_end; k0 += BK) {
    for (var l = 0u; l < LOADS; l++) {
      // Consecutive invocations take consecutive K for A (contiguous in a row-major A) and
      // consecutive columns for B (contiguous in a row-major B).
      let v = tid + l * SM_T * SM_T;
      let ak = k0 + v % BK;
      let am = m_base + (v / BK) * 4u;
      a_s[(v % BK) * SM_T + v / BK] = vec4<f32>(
        load_a(a_base, am, ak, k_end),
        load_a(a_base, am + 1u, ak, k_end),
        load_a(a_base, am + 2u, ak, k_end),
        load_a(a_base, am + 3u, ak, k_end),
      );
      let bk = k0 + v / SM_T;
      let bn = n_base + (v % SM_T) * 4u;
      b_s[v] = vec4<f32>(
        load_b(b_base, bn, bk, k_end),
        load_b(b_base, bn + 1u, bk, k_end),
        load_b(b_base, bn + 2u, bk, k_end),
        load_b(b_base, bn + 3u, bk, k_end),
      );
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      let a = a_s[kk * SM_T + lid.y];
      let b = b_s[kk * SM_T + lid.x];
      acc[0] = fma(vec4<f32>(a.x), b, acc[0]);
      acc[1] = fma(vec4<f32>(a.y), b, acc[1]);
      acc[2] = fma(vec4<f32>(a.z), b, acc[2]);
      acc[3] = fma(vec4<f32>(a.w), b, acc[3]);
    }
    workgroupBarrier();
  }

  let m0 = m_base + lid.y * 4u;
  let n0 = n_base + lid.x * 4u;
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + i;
    if (m >= params.m) { break; }
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + j;
      if (n >= params.n) { break; }
      var v = acc[i][j];
      if (HAS_BIAS && split == 0u) { v += bias_in[n]; }
      let at = (batch * params.m + m) * params.n + n;
      dst[at * params.splits + split] = v;
    }
  }
}
