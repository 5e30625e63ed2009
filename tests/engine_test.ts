/** Engine behaviour: errors on bad input, memory (pool, scopes), autograd plumbing, RNG. */
import assert from "node:assert/strict";
import {
  add,
  concat,
  conv2d,
  dropout,
  Engine,
  linear,
  matmul,
  mean,
  mseLoss,
  mul,
  reshape,
  silu,
  square,
  sum,
  type Tensor,
} from "../mod.ts";
import { expand } from "../mod.ts";
import { axpyInto } from "../engine/ops/elementwise.ts";
import { assertClose, randnArray } from "./helpers.ts";

const engine = await Engine.create({ seed: 1, validate: true });
const opts = { sanitizeResources: false, sanitizeOps: false };
const e = engine;

function throwsWith(fn: () => unknown, ...parts: string[]): void {
  assert.throws(fn, (err: Error) => {
    for (const p of parts) {
      assert.ok(err.message.includes(p), `"${err.message}" should mention "${p}"`);
    }
    return true;
  });
}

Deno.test("bad input: shape mismatches name the op and both shapes", opts, () => {
  const a = e.zeros([2, 3]);
  const b = e.zeros([4]);
  throwsWith(() => add(a, b), "add", "[2, 3]", "[4]");
  throwsWith(() => matmul(a, e.zeros([2, 3])), "matmul", "[2, 3]");
  throwsWith(() => linear(a, e.zeros([5, 4])), "linear", "[2, 3]", "[5, 4]");
  throwsWith(() => mseLoss(a, e.zeros([3, 2])), "mseLoss", "[2, 3]", "[3, 2]");
  throwsWith(() => reshape(a, [4, 2]), "reshape", "[2, 3]", "[4, 2]");
  throwsWith(() => sum(a, 2), "sum", "dimension 2");
});

Deno.test("bad input: wrong ranks and negative sizes", opts, () => {
  throwsWith(() => conv2d(e.zeros([3, 8, 8]), e.zeros([4, 3, 3, 3])), "conv2d", "[3, 8, 8]");
  throwsWith(() => matmul(e.zeros([3]), e.zeros([3, 2])), "matmul", "[3]");
  throwsWith(() => e.zeros([2, -1]), "invalid shape", "[2, -1]");
  throwsWith(() => e.tensor([1, 2, 3], [2, 2]), "3 values", "[2, 2]");
});

Deno.test("bad input: a disposed tensor cannot be used", opts, () => {
  const a = e.ones([3]);
  a.dispose();
  assert.equal(a.disposed, true);
  throwsWith(() => add(a, a), "add", "disposed", "[3]");
  a.dispose(); // idempotent
});

Deno.test("bad input: backward needs a scalar that requires grad", opts, () => {
  const x = e.ones([2, 2], { requiresGrad: true });
  throwsWith(() => mul(x, x).backward(), "backward", "scalar", "[2, 2]");
  throwsWith(() => sum(e.ones([2])).backward(), "backward", "requiresGrad");
});

Deno.test(
  "autograd: gradients accumulate across backward calls and detach cuts the graph",
  opts,
  async () => {
    const x = e.tensor([1, 2, 3], [3], { requiresGrad: true });
    sum(mul(x, x)).backward();
    sum(mul(x, x)).backward();
    assertClose(await x.grad!.read(), [4, 8, 12], { label: "accumulated grad" });
    const y = e.tensor([1, 2], [2], { requiresGrad: true });
    const out = sum(mul(y.detach(), y));
    out.backward();
    assertClose(await y.grad!.read(), [1, 2], { label: "grad through one side only" });
  },
);

Deno.test("autograd: noGrad records nothing", opts, () => {
  const x = e.ones([2], { requiresGrad: true });
  const y = e.noGrad(() => mul(x, x));
  assert.equal(y.requiresGrad, false);
  assert.equal(y.node, null);
  assert.equal(mul(x, x).requiresGrad, true);
});

Deno.test("tidy frees intermediates and keeps what it returns", opts, () => {
  const x = e.ones([4]);
  let inner: Tensor | undefined;
  const kept = e.tidy(() => {
    inner = add(x, x);
    return { out: mul(inner, x) };
  });
  assert.equal(inner!.disposed, true);
  assert.equal(kept.out.disposed, false);
  assert.equal(x.disposed, false);
});

Deno.test(
  "buffer pool: 100 identical training steps allocate nothing after the first",
  opts,
  async () => {
    const w1 = e.randn([16, 8], { seed: 3, requiresGrad: true });
    const w2 = e.randn([4, 16], { seed: 4, requiresGrad: true });
    const conv = e.randn([4, 2, 3, 3], { seed: 5, requiresGrad: true });
    const xImg = e.rand([2, 2, 6, 6], { seed: 6 });
    const x = e.rand([5, 8], { seed: 7 });
    const target = e.zeros([5, 4]);
    const step = () =>
      e.tidy(() => {
        w1.grad?.dispose();
        w2.grad?.dispose();
        conv.grad?.dispose();
        w1.grad = w2.grad = conv.grad = null;
        const h = silu(linear(x, w1));
        const c = mean(conv2d(xImg, conv, { padding: 1 }));
        const loss = add(mseLoss(linear(h, w2), target), c);
        loss.backward();
      });
    step();
    await e.sync();
    const after1 = e.memory.allocatedBytes;
    for (let i = 0; i < 99; i++) step();
    await e.sync();
    assert.equal(e.memory.allocatedBytes, after1, "pool grew after the first step");
    assert.ok(after1 > 0);
  },
);

Deno.test("random: same seed gives the same numbers; randn is standard normal", opts, async () => {
  const a = await e.randn([50000], { seed: 42 }).read();
  const b = await e.randn([50000], { seed: 42 }).read();
  const c = await e.randn([50000], { seed: 43 }).read();
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  let m = 0;
  let v = 0;
  for (const x of a) {
    m += x;
    v += x * x;
  }
  m /= a.length;
  v = v / a.length - m * m;
  assert.ok(Math.abs(m) < 0.02, `mean ${m}`);
  assert.ok(Math.abs(v - 1) < 0.03, `variance ${v}`);
  const u = await e.rand([50000], { seed: 9 }).read();
  assert.ok(u.every((x) => x >= 0 && x < 1));
  const um = u.reduce((s, x) => s + x, 0) / u.length;
  assert.ok(Math.abs(um - 0.5) < 0.01, `uniform mean ${um}`);
});

Deno.test(
  "dropout: keeps 1-p of the elements, scales them, and its gradient uses the same mask",
  opts,
  async () => {
    const x = e.ones([20000], { requiresGrad: true });
    const y = dropout(x, 0.25, { seed: 11 });
    const yv = await y.read();
    const kept = yv.filter((v) => v !== 0);
    assert.ok(Math.abs(kept.length / yv.length - 0.75) < 0.02, `kept ${kept.length}`);
    assert.ok(kept.every((v) => Math.abs(v - 1 / 0.75) < 1e-6));
    sum(y).backward();
    assertClose(await x.grad!.read(), yv, { label: "dropout grad" });
    assertClose(await dropout(x, 0.5, { training: false }).read(), new Float32Array(20000).fill(1));
  },
);

Deno.test(
  "reductions longer than llvmpipe's 65535-iteration loop limit stay exact",
  opts,
  async () => {
    assert.equal(await sum(e.ones([300000])).item(), 300000);
    assertClose(await mean(e.ones([3, 70001]), 1).read(), [1, 1, 1]);
    const a = e.ones([1, 70000]);
    const b = e.full([70000, 1], 0.5);
    assert.equal(await matmul(a, b).item(), 35000);
  },
);

Deno.test(
  "elementwise ops agree between their vec4 path (size divisible by 4) and scalar path",
  opts,
  async () => {
    for (const n of [4096, 4097]) {
      const av = randnArray(n, n);
      const bv = randnArray(n, n + 1);
      const a = e.tensor(av, [n], { requiresGrad: true });
      const b = e.tensor(bv, [n]);
      const y = mul(silu(a), b);
      sum(y).backward();
      const acc = e.zeros([n]);
      axpyInto(acc, b, 2);
      const [yv, gv, accv] = await e.readAll([y, a.grad!, acc]);
      const sig = (x: number) => 1 / (1 + Math.exp(-x));
      assertClose(yv, av.map((x, i) => x * sig(x) * bv[i]), { label: `silu*b n=${n}` });
      assertClose(
        gv,
        av.map((x, i) => bv[i] * sig(x) * (1 + x * (1 - sig(x)))),
        { atol: 1e-5, label: `silu grad n=${n}` },
      );
      assertClose(accv, bv.map((x) => 2 * x), { label: `axpy n=${n}` });
    }
  },
);

Deno.test(
  "expand of a scalar over more elements than one grid row of workgroups covers",
  opts,
  async () => {
    const big = expand(e.full([1, 1], 3), [2048, 4096]);
    const v = await big.read();
    assert.equal(v.length, 2048 * 4096);
    assert.ok(v.every((x) => x === 3), "every element is the broadcast value");
    big.dispose();
  },
);

Deno.test("strided copies: four-wide and scalar paths give the same layout ops", opts, async () => {
  // expand broadcasts along the innermost dim (source stride 0), concat along dim 1 writes rows
  // of 8 (stride 1) at offsets that are multiples of 4, concat of rows of 3 takes the scalar path.
  const xv = randnArray(6, 1);
  const big = expand(e.tensor(xv, [2, 3, 1, 1]), [2, 3, 4, 8]);
  const want = Array.from({ length: 192 }, (_, i) => xv[Math.floor(i / 32)]);
  assertClose(await big.read(), want, { label: "expand [2,3,1,1] -> [2,3,4,8]" });
  for (const w of [8, 3]) {
    const av = randnArray(2 * 2 * w, 2);
    const bv = randnArray(2 * 1 * w, 3);
    const c = concat([e.tensor(av, [2, 2, w]), e.tensor(bv, [2, 1, w])], 1);
    const ref: number[] = [];
    for (let b = 0; b < 2; b++) {
      ref.push(...av.subarray(b * 2 * w, (b + 1) * 2 * w), ...bv.subarray(b * w, (b + 1) * w));
    }
    assertClose(await c.read(), ref, { label: `concat rows of ${w}` });
    c.dispose();
  }
  big.dispose();
});

Deno.test("broadcast binary ops: four-wide and scalar paths agree with the CPU", opts, async () => {
  // [2, 3, W] * [2, 3, 1] broadcasts along the innermost dim; [2, 3, W] + [W] along the outer
  // ones; W = 8 takes the four-wide kernel, W = 3 the scalar one.
  for (const w of [8, 3]) {
    const xv = randnArray(6 * w, 4);
    const sv = randnArray(6, 5);
    const rv = randnArray(w, 6);
    const [p, q] = e.tidy(() => {
      const x = e.tensor(xv, [2, 3, w]);
      return [mul(x, e.tensor(sv, [2, 3, 1])), add(x, e.tensor(rv, [w]))];
    });
    const [pv, qv] = await e.readAll([p, q]);
    assertClose(pv, Array.from(xv, (v, i) => v * sv[Math.floor(i / w)]), { label: `mul W=${w}` });
    assertClose(qv, Array.from(xv, (v, i) => v + rv[i % w]), { label: `add W=${w}` });
    p.dispose();
    q.dispose();
  }
});

Deno.test("a WGSL validation error names the kernel", opts, async () => {
  // Binding one buffer as both read and read_write in one dispatch is a validation error.
  const t = e.ones([8]);
  e.run(
    { file: "elementwise", entry: "binary_same", defines: { OP: 0 } },
    { src: t, rhs: t, dst: t },
    { n: 8 },
    [1],
  );
  await assert.rejects(() => e.sync(), /elementwise:binary_same.*shaders\/elementwise\.wgsl/);
});

Deno.test(
  "errors outside a validation scope are reported once each, with a count",
  opts,
  async () => {
    const plain = await Engine.create();
    try {
      const t = plain.ones([8]);
      // The same invalid dispatch (one buffer bound read-only and read-write), submitted 50 times.
      for (let i = 0; i < 50; i++) {
        plain.run(
          { file: "elementwise", entry: "binary_same", defines: { OP: 0 } },
          { src: t, rhs: t, dst: t },
          { n: 8 },
          [1],
        );
        plain.flush();
      }
      const err = await plain.sync().then(() => null, (x: Error) => x);
      assert.ok(err, "sync should reject");
      assert.match(err.message, /^WebGPU error \(recent kernels: elementwise:binary_same/);
      const count = /\((\d+) times\)/.exec(err.message);
      assert.ok(count && Number(count[1]) >= 50, err.message);
      assert.ok(err.message.split("\n").length <= 12, err.message);
    } finally {
      plain.destroy();
    }
  },
);

Deno.test(
  "a kernel that does not compile is one error naming it, the backend and a fix",
  opts,
  async () => {
    // WG is already a constant of the prelude (shaders/common.wgsl): redefining it is an error.
    const spec = { file: "elementwise", entry: "fill", defines: { OP: 0, WG: 64 } } as const;
    const t = e.ones([8]);
    e.run(spec, { dst_bits: t }, { n: 8, bits: 0 }, [1]);
    const err = await e.sync().then(() => null, (x: Error) => x);
    assert.ok(err, "sync should reject");
    assert.match(
      err.message,
      /^kernel elementwise:fill\{"OP":0,"WG":64\} \(shaders\/elementwise\.wgsl\)/,
    );
    assert.match(err.message, /does not compile on the (vulkan|gl|metal|dx12|unknown) backend/);
    assert.match(err.message, /Other backends may compile it: /);
    assert.ok(err.message.split("\n").length <= 20, err.message);
    // The kernel is not built again, and its invalid pipeline left nothing behind.
    throwsWith(() => e.run(spec, { dst_bits: t }, { n: 8, bits: 0 }, [1]), "does not compile");
    e.fill(t, 2);
    assert.deepEqual(Array.from(await e.read(t)), new Array(8).fill(2));
  },
);

Deno.test("engine: teardown", opts, () => {
  e.destroy();
  assert.throws(() => e.zeros([1]), /destroyed/);
});

Deno.test(
  "conv2d keeps its packed input for the weight gradient within budgets.keptInputsMiB",
  opts,
  async () => {
    // Each packing of x [2, 8, 32, 32] is (2 * 32 * 32 + 1) rows of 2 texels: two 4096-texel
    // rows of the pool, 128 KiB; the 1 MiB budget holds eight.
    const k = await Engine.create({ seed: 1, tuning: { budgets: { keptInputsMiB: 1 } } });
    const none = await Engine.create({ seed: 1, tuning: { budgets: { keptInputsMiB: 0 } } });
    const packing = 128 * 1024;
    const xv = randnArray(2 * 8 * 32 * 32, 11);
    const wv = randnArray(6 * 8 * 3 * 3, 12, 0.3);
    const setup = (en: Engine) => ({
      x: en.tensor(xv, [2, 8, 32, 32]),
      w: en.tensor(wv, [6, 8, 3, 3], { requiresGrad: true }),
    });
    const a = setup(k);
    const b = setup(none);
    /** Bytes in use after a forward (kept packing included), the forward's output disposed. */
    const forwardBytes = (en: Engine, t: { x: Tensor; w: Tensor }, grad: boolean) => {
      const base = en.memory.inUseBytes;
      const y = grad
        ? conv2d(t.x, t.w, { stride: 2, padding: 1 })
        : en.noGrad(() => conv2d(t.x, t.w, { stride: 2, padding: 1 }));
      const used = en.memory.inUseBytes - base;
      y.dispose();
      assert.equal(en.memory.inUseBytes, base, "disposing the output released everything");
      return used;
    };
    const plain = forwardBytes(k, a, false);
    assert.equal(forwardBytes(k, a, true), plain + packing, "the packing is kept with gradients");
    assert.equal(forwardBytes(none, b, true), plain, "a budget of 0 keeps nothing");
    // Ten backwards in one scope (their outputs alive until it ends): each gives its packing
    // back to the budget as it runs, so an eleventh forward still keeps one.
    const afterTen = k.tidy(() => {
      for (let i = 0; i < 10; i++) {
        sum(square(conv2d(a.x, a.w, { stride: 2, padding: 1 }))).backward();
      }
      return forwardBytes(k, a, true);
    });
    assert.equal(afterTen, plain + packing, "backward returned its packings");
    none.tidy(() => {
      for (let i = 0; i < 10; i++) {
        sum(square(conv2d(b.x, b.w, { stride: 2, padding: 1 }))).backward();
      }
    });
    // The kept packing is the one the weight gradient would make: the same gradient, bit for bit.
    assert.deepEqual(await a.w.grad!.read(), await b.w.grad!.read());
    k.destroy();
    none.destroy();
  },
);
