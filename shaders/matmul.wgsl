// Batched matmul C[b] = A[b] @ B[b] (+ bias), register-blocked: each invocation computes a
// TM x TN block of C, so every loaded value of A is reused TN times and of B TM times. Operands
// are read through arbitrary strides, so transposed operands (the backward pass) cost no copy.
// Long K is split into SPLIT_K chunks written to [M*N per batch, splits] partials, summed after.

struct Params {
  m: u32,
  n: u32,
  k: u32,
  // K range of split s is [s * k_chunk, min((s + 1) * k_chunk, k))
  k_chunk: u32,
  splits: u32,
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

@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n0 = gid.x * TN;
  let m0 = gid.y * TM;
  let batch = gid.z / params.splits;
  let split = gid.z % params.splits;
  if (m0 >= params.m || n0 >= params.n) { return; }

  // Rows/columns past the edge read a valid clamped address; their results are never stored.
  var a_row: array<u32, TM>;
  var b_col: array<u32, TN>;
  for (var i = 0u; i < TM; i++) {
    a_row[i] = batch * params.a_stride_batch + min(m0 + i, params.m - 1u) * params.a_stride_m;
  }
  for (var j = 0u; j < TN; j++) {
    b_col[j] = batch * params.b_stride_batch + min(n0 + j, params.n - 1u) * params.b_stride_n;
  }

  var acc: array<array<f32, TN>, TM>;
  let k_begin = split * params.k_chunk;
  let k_end = min(k_begin + params.k_chunk, params.k);
  for (var kk = k_begin; kk < k_end; kk++) {
    let ak = kk * params.a_stride_k;
    let bk = kk * params.b_stride_k;
    var av: array<f32, TM>;
    var bv: array<f32, TN>;
    for (var i = 0u; i < TM; i++) { av[i] = lhs[a_row[i] + ak]; }
    for (var j = 0u; j < TN; j++) { bv[j] = rhs[b_col[j] + bk]; }
    for (var i = 0u; i < TM; i++) {
      for (var j = 0u; j < TN; j++) {
        acc[i][j] = fma(av[i], bv[j], acc[i][j]);
      }
    }
  }

  for (var i = 0u; i < TM; i++) {
    let m = m0 + i;
    if (m >= params.m) { break; }
    for (var j = 0u; j < TN; j++) {
      let n = n0 + j;
      if (n >= params.n) { break; }
      var v = acc[i][j];
      if (HAS_BIAS) { v += bias_in[n]; }
      let at = (batch * params.m + m) * params.n + n;
      dst[at * params.splits + split] = v;
    }
  }
}
