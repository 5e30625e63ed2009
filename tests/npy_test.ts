/**
 * .npy/.npz reading and writing. Fixtures in tests/fixtures/npy were written by numpy 1.24
 * (np.save, and np.lib.format.write_array for the 2.0 and 3.0 headers).
 */
import assert from "node:assert/strict";
import { unzipSync } from "npm:fflate@0.8.3";
import { parseNpy, parseNpz, readNpy, readNpz, writeNpy, writeNpz } from "../conditioner/npy.ts";
import { assertClose } from "./helpers.ts";

const FIXTURES = new URL("./fixtures/npy/", import.meta.url).pathname;
const fixture = (name: string): string => `${FIXTURES}${name}`;

Deno.test("readNpy: <f4 (2, 3), version 1.0", async () => {
  const a = await readNpy(fixture("f4_2x3.npy"));
  assert.deepEqual(a.shape, [2, 3]);
  assert.deepEqual(Array.from(a.data), [-1, -0.5, 0, 0.5, 1, 1.5]);
});

Deno.test("readNpy: <f8 converted to float32", async () => {
  const a = await readNpy(fixture("f8_4.npy"));
  assert.deepEqual(a.shape, [4]);
  assert.ok(a.data instanceof Float32Array);
  assert.deepEqual(Array.from(a.data), [1.5, -2.25, Math.fround(1e-3), 3e5]);
});

Deno.test("readNpy: <f4 with a version 2.0 header and <f8 with 3.0", async () => {
  const v2 = await readNpy(fixture("f4_v2.npy"));
  assert.deepEqual(v2.shape, [2, 2]);
  assert.deepEqual(Array.from(v2.data), [1, 2, 3, 4]);
  const v3 = await readNpy(fixture("f8_v3.npy"));
  assert.deepEqual(v3.shape, [2]);
  assert.deepEqual(Array.from(v3.data), [Math.fround(0.1), Math.fround(0.2)]);
});

Deno.test("readNpy: integer and bool dtypes (<i8, <i4, |u1, |b1)", async () => {
  assert.deepEqual(Array.from((await readNpy(fixture("i8_3.npy"))).data), [-3, 0, 2 ** 40]);
  const i4 = await readNpy(fixture("i4_2x2.npy"));
  assert.deepEqual(i4.shape, [2, 2]);
  assert.deepEqual(Array.from(i4.data), [1, -2, 3, 2 ** 30]);
  assert.deepEqual(Array.from((await readNpy(fixture("u1_3.npy"))).data), [0, 7, 255]);
  assert.deepEqual(Array.from((await readNpy(fixture("b1_3.npy"))).data), [1, 0, 1]);
});

Deno.test("readNpy: (N, 3, 8) xs-shaped array in C order", async () => {
  const a = await readNpy(fixture("f4_2x3x8.npy"));
  assert.deepEqual(a.shape, [2, 3, 8]);
  assert.equal(a.data.length, 48);
  // Element [n, r, c] = 0.25 * (24 n + 8 r + c).
  assert.equal(a.data[1 * 24 + 2 * 8 + 5], 0.25 * (24 + 16 + 5));
  assertClose(a.data, Float32Array.from({ length: 48 }, (_, i) => 0.25 * i), { atol: 0, rtol: 0 });
});

Deno.test("readNpy: scalar and zero-length shapes", async () => {
  const s = await readNpy(fixture("scalar.npy"));
  assert.deepEqual(s.shape, []);
  assert.deepEqual(Array.from(s.data), [2.5]);
  const e = await readNpy(fixture("empty_0x3.npy"));
  assert.deepEqual(e.shape, [0, 3]);
  assert.equal(e.data.length, 0);
});

Deno.test("readNpy: errors name the file and the problem", async () => {
  await assert.rejects(
    readNpy(fixture("fortran.npy")),
    /fortran\.npy: fortran_order True is not supported/,
  );
  await assert.rejects(
    readNpy(fixture("big_endian.npy")),
    /big_endian\.npy: big-endian dtype '>f4' is not supported/,
  );
  await assert.rejects(
    readNpy(fixture("f2_2.npy")),
    /f2_2\.npy: unsupported dtype 'f2' \(expected one of f4, f8, i4, i8, u1, b1\)/,
  );
  await assert.rejects(readNpy(fixture("missing.npy")), /missing\.npy: cannot read \.npy file/);

  const good = Deno.readFileSync(fixture("f4_2x3.npy"));
  const badMagic = good.slice();
  badMagic[1] = 0x4f;
  assert.throws(() => parseNpy(badMagic, "x.npy"), /x\.npy: not a \.npy file \(bad magic/);
  assert.throws(
    () => parseNpy(good.subarray(0, good.length - 1), "short.npy"),
    /short\.npy: data shorter than the shape says: shape \(2, 3\) of f4 needs 24 bytes, the file has 23/,
  );
  assert.throws(
    () => parseNpy(good.subarray(0, 40), "cut.npy"),
    /cut\.npy: \.npy header says it is 118 bytes but the file has only 30/,
  );
  const badVersion = good.slice();
  badVersion[6] = 9;
  assert.throws(
    () => parseNpy(badVersion, "v9.npy"),
    /v9\.npy: unsupported \.npy format version 9\.0/,
  );
});

Deno.test("writeNpy: 64-byte aligned v1 header, reads back exactly", () => {
  const data = Float32Array.from([1.25, -3, NaN, 7e-9, 0, 42]);
  for (const shape of [[6], [2, 3], [1, 2, 3]]) {
    const bytes = writeNpy(shape, data);
    const headerLen = new DataView(bytes.buffer).getUint16(8, true);
    assert.equal((10 + headerLen) % 64, 0);
    assert.equal(bytes[10 + headerLen - 1], 0x0a, "header ends with a newline");
    const back = parseNpy(bytes);
    assert.deepEqual(back.shape, shape);
    assert.deepEqual(Array.from(back.data), Array.from(data));
  }
  const header = new TextDecoder().decode(writeNpy([4], new Float32Array(4)).subarray(10, 64));
  assert.match(header, /'shape': \(4,\)/, "1-d shape is a Python 1-tuple");
  assert.throws(() => writeNpy([2, 2], new Float32Array(3)), /needs 4 values, got 3/);
});

Deno.test("writeNpz: zip of .npy members that unzip and read back", () => {
  const arrays = {
    epoch_losses: { shape: [3], data: Float32Array.from([3, 2, 1]) },
    val_losses: { shape: [2, 2], data: Float32Array.from([0.5, 0.25, 0.125, 0.0625]) },
  };
  const npz = writeNpz(arrays);
  assert.deepEqual([npz[0], npz[1], npz[2], npz[3]], [0x50, 0x4b, 0x03, 0x04], "zip signature");
  const members = unzipSync(npz);
  assert.deepEqual(Object.keys(members).sort(), ["epoch_losses.npy", "val_losses.npy"]);
  const val = parseNpy(members["val_losses.npy"]);
  assert.deepEqual(val.shape, [2, 2]);
  assert.deepEqual(Array.from(val.data), [0.5, 0.25, 0.125, 0.0625]);
  const back = parseNpz(npz);
  assert.deepEqual(back.epoch_losses.shape, [3]);
  assert.deepEqual(Array.from(back.epoch_losses.data), [3, 2, 1]);
  assert.throws(() => writeNpz({ "a/b": arrays.epoch_losses }), /invalid array name 'a\/b'/);
});

Deno.test("readNpz: errors name the file (and member)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "npz_test_" });
  try {
    const path = `${dir}/m.npz`;
    await Deno.writeFile(path, writeNpz({ a: { shape: [1], data: Float32Array.from([9]) } }));
    assert.deepEqual(Array.from((await readNpz(path)).a.data), [9]);
    await Deno.writeFile(path, new Uint8Array([1, 2, 3]));
    await assert.rejects(readNpz(path), new RegExp(`${path}: not a readable \\.npz`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
