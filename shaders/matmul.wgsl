// Batched matmul C[b] = A[b] @ B[b] (+ bias[n]).
//
// llvmpipe runs 8 invocations per SIMD row and turns every storage load into a loop over the
// lanes, so loads, not FMAs, bound this kernel (see conv2d.wgsl): `matmul` reads its operands
// as vec4s of 4 consecutive values and keeps a TM x TN tile of C per invocation in 4x4
// matrices (TM, TN in {4, 8}; each 4x4 block of A or B feeds 64 FMAs of a matrix product).
// Each operand is read in one of two layouts, chosen per call by the defines A_T and B_T:
//   A_T = 0: rows of M, K contiguous       A_T = 1: rows of K, M contiguous
//   B_T = 0: rows of K, N contiguous       B_T = 1: rows of N, K contiguous
// (strides in vec4s; a row index past the edge is clamped, its results are never stored).
// Operands that fit neither (a stride or size not a multiple of 4) are first copied by `pack`
// into the A_T = 0 / B_T = 0 layout with K (and for B the N) padding zeroed, so the K loop
// has no bounds checks. The tile is accumulated transposed: accT (n x m) += Bn (n x k) * Ak
// (k x m), which needs no transposes for A_T = 0, B_T = 0 (a plain row-major A @ B).
//
// Long K is split into `splits` chunks of k4 (vec4 steps; llvmpipe stops an invocation after
// 65535 loop iterations) written to dst[idx * splits + split], summed by a second pass.
// `matmul_scalar` is the plain strided kernel, kept for tiny problems that would otherwise
// need packing (a pack dispatch costs more than the product).

struct Params {
  m: u32,
  n: u32,
  k: u32,
  splits: u32,
  // matmul: vec4 counts and strides
  k4: u32,
  chunk: u32,
  m4: u32,
  n4: u32,
  a_row: u32,
  a_batch: u32,
  b_row: u32,
  b_batch: u32,
  // matmul_scalar: element strides; K range of split s is [s * k_chunk, (s + 1) * k_chunk)
  k_chunk: u32,
  a_stride_m: u32,
  a_stride_k: u32,
  a_stride_batch: u32,
  b_stride_k: u32,
  b_stride_n: u32,
  b_stride_batch: u32,
  // pack: element (r, c) of batch q is src[q * pk_sb + r * pk_sr + c * pk_sc], zero for
  // r >= pk_vr or c >= pk_vc; output [batches][pk_rows][pk_c4] vec4s, pk_total of them.
  pk_rows: u32,
  pk_c4: u32,
  pk_vr: u32,
  pk_vc: u32,
  pk_sr: u32,
  pk_sc: u32,
  pk_sb: u32,
  pk_total: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> lhs: array<f32>;
@group(0) @binding(2) var<storage, read> rhs: array<f32>;
@group(0) @binding(3) var<storage, read> lhs4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> rhs4: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> bias_in: array<f32>;
@group(0) @binding(6) var<storage, read_write> dst: array<f32>;
@group(0) @binding(7) var<storage, read> src: array<f32>;
@group(0) @binding(8) var<storage, read_write> dst4: array<vec4<f32>>;

// ------------------------------------------------------------------------------- packing

@compute @workgroup_size(WG)
fn pack(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = thread_index(wid, nwg, lid);
  if (i >= params.pk_total) {
    return;
  }
  let c4 = i % params.pk_c4;
  let r = (i / params.pk_c4) % params.pk_rows;
  let q = i / (params.pk_c4 * params.pk_rows);
  var v = vec4<f32>(0.0);
  if (r < params.pk_vr) {
    let c = c4 * 4u;
    let base = q * params.pk_sb + r * params.pk_sr + c * params.pk_sc;
    let last = params.pk_vc - 1u - c; // columns c + j with j <= last exist
    v.x = src[base];
    if (last >= 1u) { v.y = src[base + params.pk_sc]; }
    if (last >= 2u) { v.z = src[base + 2u * params.pk_sc]; }
    if (last >= 3u) { v.w = src[base + 3u * params.pk_sc]; }
  }
  dst4[i] = v;
}

// ------------------------------------------------------------------------------- vec4 GEMM

// vec4 offsets of 4-row block `blk` (rows first .. first + 3) of A at K step 0.
fn a_offsets(base: u32, first: u32) -> vec4<u32> {
  if (A_T == 0u) {
    let m = min(vec4<u32>(first) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(params.m - 1u));
    return vec4<u32>(base) + m * params.a_row;
  }
  let m4 = min(first / 4u, params.m4 - 1u);
  return vec4<u32>(base + m4) + vec4<u32>(0u, 1u, 2u, 3u) * params.a_row;
}

fn b_offsets(base: u32, first: u32) -> vec4<u32> {
  if (B_T == 1u) {
    let n = min(vec4<u32>(first) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(params.n - 1u));
    return vec4<u32>(base) + n * params.b_row;
  }
  let n4 = min(first / 4u, params.n4 - 1u);
  return vec4<u32>(base + n4) + vec4<u32>(0u, 1u, 2u, 3u) * params.b_row;
}

// 4 K values x 4 rows of A as a (k x m) matrix: column i is row m + i.
fn ld_a(o: vec4<u32>) -> mat4x4<f32> {
  let t = mat4x4<f32>(lhs4[o.x], lhs4[o.y], lhs4[o.z], lhs4[o.w]);
  if (A_T == 1u) {
    return transpose(t);
  }
  return t;
}

// 4 K values x 4 columns of B as an (n x k) matrix: column q is K value k + q.
fn ld_b(o: vec4<u32>) -> mat4x4<f32> {
  let t = mat4x4<f32>(rhs4[o.x], rhs4[o.y], rhs4[o.z], rhs4[o.w]);
  if (B_T == 1u) {
    return transpose(t);
  }
  return t;
}

fn put(v: f32, m: u32, n: u32, batch: u32, split: u32) {
  if (m >= params.m || n >= params.n) {
    return;
  }
  var out = v;
  if (HAS_BIAS && split == 0u) {
    out += bias_in[n];
  }
  dst[((batch * params.m + m) * params.n + n) * params.splits + split] = out;
}

// Stores a transposed 4x4 block: acc[i][j] is (row m + i, column n + j).
fn store(acc: mat4x4<f32>, m: u32, n: u32, batch: u32, split: u32) {
  for (var i = 0u; i < 4u; i++) {
    let v = acc[i];
    put(v.x, m + i, n, batch, split);
    put(v.y, m + i, n + 1u, batch, split);
    put(v.z, m + i, n + 2u, batch, split);
    put(v.w, m + i, n + 3u, batch, split);
  }
}

@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul(@builtin(global_invocation_id) gid: vec3<u32>) {
  var mb = gid.y;
  var nb = gid.x;
  if (SWAP) {
    mb = gid.x;
    nb = gid.y;
  }
  let m0 = mb * TM;
  let n0 = nb * TN;
  let batch = gid.z / params.splits;
  let split = gid.z % params.splits;
  if (m0 >= params.m || n0 >= params.n) {
    return;
  }
  let c_begin = split * params.chunk;
  let c_end = min(c_begin + params.chunk, params.k4);
  var a_step = 1u;
  if (A_T == 1u) {
    a_step = 4u * params.a_row;
  }
  var b_step = 1u;
  if (B_T == 0u) {
    b_step = 4u * params.b_row;
  }
  let abase = batch * params.a_batch + c_begin * a_step;
  let bbase = batch * params.b_batch + c_begin * b_step;
  var ao0 = a_offsets(abase, m0);
  var ao1 = ao0;
  if (TM > 4u) { ao1 = a_offsets(abase, m0 + 4u); }
  var bo0 = b_offsets(bbase, n0);
  var bo1 = bo0;
  if (TN > 4u) { bo1 = b_offsets(bbase, n0 + 4u); }
  let da = vec4<u32>(a_step);
  let db = vec4<u32>(b_step);
  var acc00 = mat4x4<f32>();
  var acc01 = mat4x4<f32>();
  var acc10 = mat4x4<f32>();
  var acc11 = mat4x4<f32>();
  var a0: mat4x4<f32>;
  var a1: mat4x4<f32>;
  var b0: mat4x4<f32>;
  var b1: mat4x4<f32>;
  for (var c = c_begin; c < c_end; c++) {
    a0 = ld_a(ao0);
    if (TM > 4u) { a1 = ld_a(ao1); }
    b0 = ld_b(bo0);
    if (TN > 4u) { b1 = ld_b(bo1); }
    acc00 += b0 * a0;
    if (TM > 4u) { acc01 += b0 * a1; }
    if (TN > 4u) {
      acc10 += b1 * a0;
      if (TM > 4u) { acc11 += b1 * a1; }
    }
    ao0 += da;
    ao1 += da;
    bo0 += db;
    bo1 += db;
  }
  store(acc00, m0, n0, batch, split);
  if (TM > 4u) { store(acc01, m0 + 4u, n0, batch, split); }
  if (TN > 4u) {
    store(acc10, m0, n0 + 4u, batch, split);
    if (TM > 4u) { store(acc11, m0 + 4u, n0 + 4u, batch, split); }
  }
}

// ------------------------------------------------------------------------------- scalar GEMM

@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul_scalar(@builtin(global_invocation_id) gid: vec3<u32>) {
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
      if (HAS_BIAS && split == 0u) { v += bias_in[n]; }
      let at = (batch * params.m + m) * params.n + n;
      dst[at * params.splits + split] = v;
    }
  }
}
