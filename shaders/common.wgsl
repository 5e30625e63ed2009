// Prelude prepended to every kernel file: 1-D thread indexing over 2-D grids, and Philox RNG.

// WG, the workgroup size of 1-D kernels, is defined by the engine (engine/tuning.ts `wg`).

// Linear thread id for a 1-D kernel launched on a (possibly 2-D) grid of WG-sized workgroups.
fn thread_index(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>) -> u32 {
  return (wid.y * nwg.x + wid.x) * WG + lid.x;
}

// Element i of a texel buffer (engine/buffers.ts TexelBuffer: 4096 vec4s per texture row). GEMM
// kernels read 4x4 operand blocks (texel buffer elements o.x .. o.w plus c as the columns of a
// mat4x4) with one loader per texture: textures cannot be function parameters on every backend
// (wgpu's OpenGL output has no image parameters).
fn texel_coord(i: u32) -> vec2<u32> {
  return vec2<u32>(i & 4095u, i >> 12u);
}

// Philox 4x32-10 (Salmon et al., 2011): counter-based, so element i of a stream is a pure
// function of (seed, stream, i) and every run with the same seed gives the same numbers.
fn philox4x32(counter: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
  var c = counter;
  var k = key;
  for (var round = 0u; round < 10u; round++) {
    let lo0 = c.x * 0xD2511F53u;
    let hi0 = mul_hi(c.x, 0xD2511F53u);
    let lo1 = c.z * 0xCD9E8D57u;
    let hi1 = mul_hi(c.z, 0xCD9E8D57u);
    c = vec4<u32>(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
    k = k + vec2<u32>(0x9E3779B9u, 0xBB67AE85u);
  }
  return c;
}

fn mul_hi(a: u32, b: u32) -> u32 {
  let a_lo = a & 0xFFFFu;
  let a_hi = a >> 16u;
  let b_lo = b & 0xFFFFu;
  let b_hi = b >> 16u;
  let lo_lo = a_lo * b_lo;
  let hi_lo = a_hi * b_lo;
  let lo_hi = a_lo * b_hi;
  let hi_hi = a_hi * b_hi;
  let cross = (lo_lo >> 16u) + (hi_lo & 0xFFFFu) + (lo_hi & 0xFFFFu);
  return hi_hi + (hi_lo >> 16u) + (lo_hi >> 16u) + (cross >> 16u);
}

// Uniform float in [0, 1) from the top 24 bits.
fn u32_to_unit(x: u32) -> f32 {
  return f32(x >> 8u) * (1.0 / 16777216.0);
}
