// Batched matmul C[b] = A[b] @ B[b] (+ bias[n]).
//
// On llvmpipe loads, not FMAs, bound this kernel (see conv2d.wgsl): `matmul` reads operands
// packed into texel buffers (shaders/pack.wgsl, engine/buffers.ts) with K contiguous in vec4s,
// A as rows of M and B as rows of N (B transposed), or, when an operand is a plain row-major
// matrix with M (N) contiguous and K, M (N) multiples of 4 (A_MN_MAJOR, B_MN_MAJOR), copied as
// it is: then one texel holds 4 rows at one K and the kernel transposes the block instead
// (free in registers). It keeps a (4 BM) x (4 BN) tile of C per invocation in BM x BN named 4x4
// matrices, so one 4x4 block of an operand feeds 64 FMAs. Packing zeroes the K padding, so the K
// loop has no bounds checks; a row index past the edge is clamped and its results are never
// stored.
//
// Long K is split into `splits` chunks of k4 (vec4 steps; llvmpipe stops an invocation after
// 65535 loop iterations) written to dst[idx * splits + split], summed by a second pass.
// `matmul_scalar` is the plain strided kernel, kept for tiny problems (a pack dispatch costs
// more than the product).

struct Params {
  m: u32,
  n: u32,
  k: u32,
  splits: u32,
  // matmul: vec4 count of K, K chunk per split, texel offsets between batches of A and B
  k4: u32,
  chunk: u32,
  a_batch: u32,
  b_batch: u32,
  // matmul_scalar: element strides; K range of split s is [s * k_chunk, (s + 1) * k_chunk)
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
@group(0) @binding(3) var lhs_t: texture_storage_2d<rgba32float, read>;
@group(0) @binding(4) var rhs_t: texture_storage_2d<rgba32float, read>;
@group(0) @binding(5) var<storage, read> bias_in: array<f32>;
@group(0) @binding(6) var<storage, read_write> dst: array<f32>;

// ------------------------------------------------------------------------------- vec4 GEMM

// Texel offsets (at K step 0) of a 4-row block starting at row `first` of an operand with
// `rows` rows. K-major (packed): one texel per row and K step, rows k4 texels apart. Row-major
// over K (MN_MAJOR, a plain row-major [K, rows] matrix copied as is): one texel holds the 4 rows,
// the four offsets are 4 consecutive K rows of rows / 4 texels each.
fn block_offsets(base: u32, first: u32, rows: u32, mn_major: bool) -> vec4<u32> {
  if (mn_major) {
    let r4 = min(first, rows - 1u) / 4u;
    return vec4<u32>(base + r4) + vec4<u32>(0u, 1u, 2u, 3u) * (rows / 4u);
  }
  let r = min(vec4<u32>(first) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(rows - 1u));
  return vec4<u32>(base) + r * params.k4;
}

// Texels between K steps of an operand with `rows` rows.
fn k_step(rows: u32, mn_major: bool) -> u32 {
  return select(1u, rows, mn_major);
}

// 4 rows of A x 4 K values, as an (m x k) matrix.
fn ld_a(o: vec4<u32>, c: u32) -> mat4x4<f32> {
  let t = mat4x4<f32>(
    textureLoad(lhs_t, texel_coord(o.x + c)),
    textureLoad(lhs_t, texel_coord(o.y + c)),
    textureLoad(lhs_t, texel_coord(o.z + c)),
    textureLoad(lhs_t, texel_coord(o.w + c)),
  );
  if (A_MN_MAJOR) {
    return t;
  }
  return transpose(t);
}

// 4 K values x 4 columns of B, as a (k x n) matrix.
fn ld_b(o: vec4<u32>, c: u32) -> mat4x4<f32> {
  let t = mat4x4<f32>(
    textureLoad(rhs_t, texel_coord(o.x + c)),
    textureLoad(rhs_t, texel_coord(o.y + c)),
    textureLoad(rhs_t, texel_coord(o.z + c)),
    textureLoad(rhs_t, texel_coord(o.w + c)),
  );
  if (B_MN_MAJOR) {
    return transpose(t);
  }
  return t;
}

// Stores a 4x4 block: acc[j][i] is (row m + i, column n + j).
fn store(acc: mat4x4<f32>, m: u32, n: u32, batch: u32, split: u32) {
  for (var j = 0u; j < 4u; j++) {
    if (n + j >= params.n) {
      return;
    }
    var bias = 0.0;
    if (HAS_BIAS && split == 0u) {
      bias = bias_in[n + j];
    }
    for (var i = 0u; i < 4u; i++) {
      if (m + i < params.m) {
        dst[((batch * params.m + m + i) * params.n + n + j) * params.splits + split] = acc[j][i] + bias;
      }
    }
  }
}

@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul(@builtin(global_invocation_id) gid: vec3<u32>) {
  let m0 = gid.y * (4u * BM);
  let n0 = gid.x * (4u * BN);
  let batch = gid.z / params.splits;
  let split = gid.z % params.splits;
  if (m0 >= params.m || n0 >= params.n) {
    return;
  }
  let c_begin = split * params.chunk;
  let c_end = min(c_begin + params.chunk, params.k4);
  let a_step = k_step(params.m, A_MN_MAJOR);
  let b_step = k_step(params.n, B_MN_MAJOR);
  // #for i < BM
  let ao$i = block_offsets(batch * params.a_batch, m0 + 4u * $i, params.m, A_MN_MAJOR);
  // #end
  // #for j < BN
  let bo$j = block_offsets(batch * params.b_batch, n0 + 4u * $j, params.n, B_MN_MAJOR);
  // #end
  // #for i < BM, j < BN
  var acc$i_$j = mat4x4<f32>();
  // #end
  for (var c = c_begin; c < c_end; c++) {
    // #for i < BM
    let a$i = ld_a(ao$i, c * a_step);
    // #end
    // #for j < BN
    let b$j = ld_b(bo$j, c * b_step);
    // #end
    // #for i < BM, j < BN
    acc$i_$j += a$i * b$j;
    // #end
  }
  // #for i < BM, j < BN
  store(acc$i_$j, m0 + 4u * $i, n0 + 4u * $j, batch, split);
  // #end
}

// ------------------------------------------------------------------------------- scalar GEMM

// A 4x4 tile of C per invocation, straight from the strided operands.
@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul_scalar(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n0 = gid.x * 4u;
  let m0 = gid.y * 4u;
  let batch = gid.z / params.splits;
  let split = gid.z % params.splits;
  if (m0 >= params.m || n0 >= params.n) { return; }

  // Rows/columns past the edge read a valid clamped address; their results are never stored.
  var a_row: array<u32, 4>;
  var b_col: array<u32, 4>;
  for (var i = 0u; i < 4u; i++) {
    a_row[i] = batch * params.a_stride_batch + min(m0 + i, params.m - 1u) * params.a_stride_m;
  }
  for (var j = 0u; j < 4u; j++) {
    b_col[j] = batch * params.b_stride_batch + min(n0 + j, params.n - 1u) * params.b_stride_n;
  }

  var acc: array<array<f32, 4>, 4>;
  let k_begin = split * params.k_chunk;
  let k_end = min(k_begin + params.k_chunk, params.k);
  for (var kk = k_begin; kk < k_end; kk++) {
    let ak = kk * params.a_stride_k;
    let bk = kk * params.b_stride_k;
    var av: array<f32, 4>;
    var bv: array<f32, 4>;
    for (var i = 0u; i < 4u; i++) { av[i] = lhs[a_row[i] + ak]; }
    for (var j = 0u; j < 4u; j++) { bv[j] = rhs[b_col[j] + bk]; }
    for (var i = 0u; i < 4u; i++) {
      for (var j = 0u; j < 4u; j++) {
        acc[i][j] = fma(av[i], bv[j], acc[i][j]);
      }
    }
  }

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
