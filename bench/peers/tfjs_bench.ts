/**
 * TF.js WebGPU peer of the engine's benchmarks, in Deno (`deno task cli bench` runs it):
 *
 *     deno run -A --no-lock bench/peers/tfjs_bench.ts --plan plan.json [--only kernels,stack]
 *
 * Runs the plan's matmuls, convolutions (forward tf.conv2d, input gradient Conv2DBackpropInput
 * via tf.conv2dTranspose, weight gradient Conv2DBackpropFilter, in TF.js's native NHWC layout)
 * and conv stack (forward + backward through tf.variableGrads) on TF.js's WebGPU backend over
 * Deno's WebGPU, and prints one JSON object on stdout (progress on stderr). Each run is
 * synchronised like TF.js's own reads (end the pass, `submitQueue`, `onSubmittedWorkDone`), so
 * times are wall times including submission.
 *
 * On llvmpipe TF.js's convolutions are slow enough (its weight gradient runs at ~0.1 GFLOP/s) that
 * conv cases and the stack are run at a smaller batch when the full one would take too long, and
 * their times scaled linearly to the full batch (noted per case; work and time grow linearly
 * with the batch there). The weight gradient is also never run above the loop limit: llvmpipe
 * stops any shader loop after 65535 iterations per invocation, and TF.js's weight-gradient shader
 * loops over N x OH x OW per output, so past that its result is silently wrong and its time too
 * short. Each such case is checked on known inputs at the full batch and flagged.
 */
import type * as TF from "npm:@tensorflow/tfjs-core@4.22.0";

interface ConvCase {
  id: string;
  n: number;
  cin: number;
  h: number;
  w: number;
  cout: number;
  k: number;
  stride: number;
  pad: number;
  dirs: ("fwd" | "dx" | "dw")[];
}
interface StackSpec {
  id: string;
  batch: number;
  imageSize: number;
  stemOut: number;
  blocks: { cin: number; cout: number; stride: number; shortcut: boolean }[];
  heads: number[];
}
interface Plan {
  quick: boolean;
  budgetS: number;
  maxReps: number;
  matmul: { id: string; m: number; k: number; n: number }[];
  conv: ConvCase[];
  stacks: StackSpec[];
}
interface CaseResult {
  ms: number;
  samples: number[];
  warmupMs: number;
  method: "wall";
  samplesPerS?: number;
  /** Set when the measured run computed a wrong result (llvmpipe cut a loop). */
  truncated?: boolean;
  /** Conv weight gradients past the loop limit: whether the full batch gives a wrong result. */
  truncatedAtFullBatch?: boolean;
  /** Batch actually run when smaller than the case's (times are scaled linearly). */
  measuredBatch?: number;
  note?: string;
}

const log = (s: string) => console.error(s);
/** llvmpipe stops a shader loop after this many iterations per invocation. */
const LOOP_LIMIT = 65535;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function convOut(size: number, k: number, stride: number, pad: number): number {
  return Math.floor((size + 2 * pad - k) / stride) + 1;
}

/**
 * Registers the gradients of the kernels the conv stack uses, as tfjs-core's own gradients/
 * define them. tfjs-core's CommonJS bundle (what Deno loads) carries no gradients, and its ESM
 * `register_all_gradients.js` uses extension-less imports that Deno's npm resolution rejects; the
 * `@tensorflow/tfjs` umbrella package would bring them along with several more backends.
 */
function registerGradients(tf: typeof TF): void {
  type T = TF.Tensor;
  const reduceTo = (g: T, shape: number[]): T => {
    const axes = tf.backend_util.getReductionAxes(shape, g.shape);
    return tf.reshape(axes.length ? tf.sum(g, axes) : g, shape);
  };
  const grads: TF.GradConfig[] = [
    {
      kernelName: "Conv2D",
      inputsToSave: ["x", "filter"],
      gradFunc: (dy, saved, attrs) => {
        const [x, filter] = saved as TF.Tensor4D[];
        const { strides, pad } = attrs as unknown as { strides: [number, number]; pad: number };
        return {
          x: () => tf.conv2dTranspose(dy as TF.Tensor4D, filter, x.shape, strides, pad),
          filter: () =>
            tf.engine().runKernel("Conv2DBackpropFilter", { x, dy: dy as TF.Tensor4D }, {
              strides,
              pad,
              dataFormat: "NHWC",
              filterShape: filter.shape,
            }) as T,
        };
      },
    },
    {
      kernelName: "Add",
      inputsToSave: ["a", "b"],
      gradFunc: (dy, saved) => ({
        a: () => reduceTo(dy as T, saved[0].shape),
        b: () => reduceTo(dy as T, saved[1].shape),
      }),
    },
    {
      kernelName: "AddN",
      saveAllInputs: true,
      gradFunc: (dy, saved) =>
        Object.fromEntries(saved.map((_, i) => [String(i), () => tf.clone(dy as T)])),
    },
    {
      kernelName: "Multiply",
      inputsToSave: ["a", "b"],
      gradFunc: (dy, saved) => ({
        a: () => reduceTo(tf.mul(dy as T, saved[1]), saved[0].shape),
        b: () => reduceTo(tf.mul(dy as T, saved[0]), saved[1].shape),
      }),
    },
    {
      kernelName: "Sigmoid",
      outputsToSave: [true],
      gradFunc: (dy, saved) => ({
        x: () => tf.mul(dy as T, tf.mul(saved[0], tf.sub(tf.scalar(1), saved[0]))),
      }),
    },
    {
      kernelName: "Square",
      inputsToSave: ["x"],
      gradFunc: (dy, saved) => ({ x: () => tf.mul(dy as T, tf.mul(saved[0], 2)) }),
    },
    {
      kernelName: "Mean",
      inputsToSave: ["x"],
      gradFunc: (dy, saved, attrs) => {
        const [x] = saved;
        const axes = tf.util.parseAxisParam((attrs as unknown as { axis: number[] }).axis, x.shape);
        const shape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
        const n = axes.reduce((p, a) => p * x.shape[a], 1);
        return { x: () => tf.div(tf.mul(tf.reshape(dy as T, shape), tf.ones(x.shape)), n) };
      },
    },
    {
      kernelName: "BatchMatMul",
      inputsToSave: ["a", "b"],
      gradFunc: (dy, saved) => ({
        a: () => tf.matMul(dy as T, saved[1], false, true),
        b: () => tf.matMul(saved[0], dy as T, true, false),
      }),
    },
  ];
  for (const g of grads) if (!tf.getGradient(g.kernelName)) tf.registerGradient(g);
}

async function main(): Promise<void> {
  const args = Deno.args;
  const planPath = args[args.indexOf("--plan") + 1];
  if (!args.includes("--plan") || !planPath) {
    throw new Error("usage: tfjs_bench.ts --plan plan.json");
  }
  const only = args.includes("--only") ? args[args.indexOf("--only") + 1] : "kernels,stack";
  const sections = new Set(only.split(","));
  const plan: Plan = JSON.parse(await Deno.readTextFile(planPath));

  const tf: typeof TF = await import("npm:@tensorflow/tfjs-core@4.22.0");
  await import("npm:@tensorflow/tfjs-backend-webgpu@4.22.0");
  registerGradients(tf);
  let ok = false;
  let why = "";
  try {
    ok = await tf.setBackend("webgpu");
    await tf.ready();
  } catch (e) {
    why = String((e as Error).stack ?? e);
  }
  if (!ok || tf.getBackend() !== "webgpu") {
    console.log(JSON.stringify({
      ok: false,
      note: `TF.js's webgpu backend did not initialise under Deno: ${
        why || "setBackend returned false"
      }`,
    }));
    return;
  }
  // deno-lint-ignore no-explicit-any
  const backend = tf.backend() as any;
  // What TF.js's own read path does before waiting: close the open pass, submit.
  const sync = async () => {
    if (backend.commandEncoder) {
      backend.endComputePassEncoder();
      backend.submitQueue();
    }
    await backend.queue.onSubmittedWorkDone();
  };

  /** Wall ms of one run of fn (which returns the tensors to free) including a sync. */
  const once = async (fn: () => TF.Tensor | TF.Tensor[]): Promise<number> => {
    const t0 = performance.now();
    const out = tf.tidy(fn);
    await sync();
    const dt = performance.now() - t0;
    tf.dispose(out);
    return dt;
  };

  /** Median ms of fn after one warm-up; reps from the budget. */
  const timed = async (
    fn: () => TF.Tensor | TF.Tensor[],
    budgetS: number,
    minReps = 1,
  ): Promise<CaseResult> => {
    const warmupMs = await once(fn);
    // Short runs get more repetitions (their noise is larger), as bench/timing.ts does.
    const cap = plan.maxReps * (warmupMs < 100 ? 5 : 1);
    const reps = Math.max(minReps, Math.min(cap, Math.floor((budgetS * 1000) / warmupMs)));
    const samples: number[] = [];
    for (let i = 0; i < reps; i++) samples.push(await once(fn));
    return { ms: median(samples), samples, warmupMs, method: "wall" };
  };

  /**
   * Whether TF.js's weight gradient is wrong at this geometry (checked with one output channel):
   * with x = 1 and dy = 1 the centre tap of dW sums every output position, N*OH*OW.
   */
  const dwTruncated = async (
    n: number,
    size: number,
    cin: number,
    k: number,
    stride: number,
    pad: number,
  ): Promise<boolean> => {
    const o = convOut(size, k, stride, pad);
    const want = n * o * o;
    const got = tf.tidy(() => {
      const g = tf.engine().runKernel("Conv2DBackpropFilter", {
        x: tf.ones([n, size, size, cin]),
        dy: tf.ones([n, o, o, 1]),
      }, {
        strides: [stride, stride],
        pad,
        dataFormat: "NHWC",
        filterShape: [k, k, cin, 1],
      }) as TF.Tensor4D;
      return tf.slice(g, [(k - 1) / 2, (k - 1) / 2, 0, 0], [1, 1, 1, 1]);
    });
    const v = (await got.data())[0];
    got.dispose();
    return Math.abs(v - want) > 1e-3 * want;
  };

  const cases: Record<string, CaseResult> = {};
  /**
   * Times a case whose cost grows linearly with its batch (TF.js's conv kernels on llvmpipe):
   * compiles and runs it once at batch 1, then times it at the largest batch <= maxBatch whose
   * estimated run fits capS, and scales the times to `batch`.
   */
  const batchScaled = async (
    batch: number,
    maxBatch: number,
    setup: (nb: number) => { fn: () => TF.Tensor | TF.Tensor[]; dispose: () => void },
    budgetS: number,
    capS: number,
    minReps = 1,
  ): Promise<CaseResult> => {
    const one = setup(1);
    const t1 = await once(one.fn);
    one.dispose();
    if (t1 >= capS * 1000) {
      // Too slow for another run: the batch-1 run (with its compilation) is the measurement.
      return {
        ms: batch * t1,
        samples: [batch * t1],
        warmupMs: t1,
        method: "wall",
        measuredBatch: 1,
        note: `one run at batch 1 (including compilation), time scaled x${batch}`,
      };
    }
    let nb = Math.min(batch, maxBatch);
    if (t1 * nb > capS * 1000) nb = Math.max(1, Math.floor((capS * 1000) / t1));
    const s = setup(nb);
    try {
      if (nb !== 1 && t1 * nb <= (budgetS * 1000) / 2) await once(s.fn);
      const est = t1 * nb;
      const cap = plan.maxReps * (est < 100 ? 5 : 1);
      const reps = Math.max(minReps, Math.min(cap, Math.floor((budgetS * 1000) / est)));
      const scale = batch / nb;
      const samples: number[] = [];
      for (let i = 0; i < reps; i++) samples.push(scale * await once(s.fn));
      return {
        ms: median(samples),
        samples,
        warmupMs: t1,
        method: "wall",
        measuredBatch: nb,
        note: nb < batch
          ? `measured at batch ${nb}, times scaled x${scale.toPrecision(3)}`
          : undefined,
      };
    } finally {
      s.dispose();
    }
  };

  if (sections.has("kernels")) {
    for (const m of plan.matmul) {
      const a = tf.randomNormal([m.m, m.k], 0, 1, "float32", 1);
      const b = tf.randomNormal([m.k, m.n], 0, 1, "float32", 2);
      cases[m.id] = await timed(() => tf.matMul(a, b), plan.budgetS);
      log(`  ${m.id.padEnd(44)} ${cases[m.id].ms.toFixed(2).padStart(10)} ms`);
      tf.dispose([a, b]);
    }
    for (const c of plan.conv) {
      const oh = convOut(c.h, c.k, c.stride, c.pad);
      const ow = convOut(c.w, c.k, c.stride, c.pad);
      const wShape: [number, number, number, number] = [c.k, c.k, c.cin, c.cout];
      const w = tf.randomNormal(
        wShape,
        0,
        Math.sqrt(2 / (c.cin * c.k * c.k)),
        "float32",
        4,
      ) as TF.Tensor4D;
      for (const dir of c.dirs) {
        const setup = (nb: number) => {
          const xShape: [number, number, number, number] = [nb, c.h, c.w, c.cin];
          const x = tf.randomUniform(xShape, 0, 1, "float32", 3) as TF.Tensor4D;
          const dy = tf.randomNormal([nb, oh, ow, c.cout], 0, 1, "float32", 5) as TF.Tensor4D;
          const fn = dir === "fwd"
            ? () => tf.conv2d(x, w, c.stride, c.pad)
            : dir === "dx"
            ? () => tf.conv2dTranspose(dy, w, xShape, c.stride, c.pad)
            : () =>
              tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, {
                strides: [c.stride, c.stride],
                pad: c.pad,
                dataFormat: "NHWC",
                filterShape: wShape,
              }) as TF.Tensor4D;
          return { fn, dispose: () => tf.dispose([x, dy]) };
        };
        // TF.js's weight gradient loops over N*OH*OW per output: past 65535 llvmpipe cuts the
        // loop (wrong result, short time), so it is measured at a batch that stays below.
        const maxBatch = dir === "dw" ? Math.max(1, Math.floor(LOOP_LIMIT / (oh * ow))) : c.n;
        const id = `conv ${c.id} ${dir}`;
        const r = await batchScaled(c.n, maxBatch, setup, plan.budgetS, 5 * plan.budgetS);
        if (dir === "dw" && c.n * oh * ow > LOOP_LIMIT) {
          r.truncatedAtFullBatch = await dwTruncated(c.n, c.h, c.cin, c.k, c.stride, c.pad);
          if (r.truncatedAtFullBatch) {
            r.note = `${r.note ?? ""}${
              r.note ? "; " : ""
            }at batch ${c.n} the result is wrong (N*OH*OW = ${
              c.n * oh * ow
            } loop iterations, cut at 65535 by llvmpipe)`;
          }
        }
        if (
          dir === "dw" &&
          await dwTruncated(r.measuredBatch ?? c.n, c.h, c.cin, c.k, c.stride, c.pad)
        ) {
          r.truncated = true;
        }
        cases[id] = r;
        log(
          `  ${id.padEnd(44)} ${r.ms.toFixed(2).padStart(10)} ms${r.note ? `  (${r.note})` : ""}`,
        );
      }
      w.dispose();
    }
  }

  if (sections.has("stack")) {
    for (const s of plan.stacks) {
      const vars: TF.Variable[] = [];
      let seed = 1;
      const v = (shape: number[], fanIn: number) => {
        const t = tf.variable(tf.randomNormal(shape, 0, Math.sqrt(2 / fanIn), "float32", seed++));
        vars.push(t);
        return t;
      };
      const zeros = (n: number) => {
        const t = tf.variable(tf.zeros([n]));
        vars.push(t);
        return t;
      };
      const stem = v([7, 7, 1, s.stemOut], 49) as TF.Variable<TF.Rank.R4>;
      const blocks = s.blocks.map((b) => ({
        conv1: v([3, 3, b.cin, b.cout], 9 * b.cin) as TF.Variable<TF.Rank.R4>,
        conv2: v([3, 3, b.cout, b.cout], 9 * b.cout) as TF.Variable<TF.Rank.R4>,
        shortcut: b.shortcut ? v([1, 1, b.cin, b.cout], b.cin) as TF.Variable<TF.Rank.R4> : null,
      }));
      const last = s.blocks[s.blocks.length - 1].cout;
      const hidden = Math.floor(last / 2);
      const heads = s.heads.map((o) => ({
        w1: v([last, hidden], last) as TF.Variable<TF.Rank.R2>,
        b1: zeros(hidden),
        w2: v([hidden, o], hidden) as TF.Variable<TF.Rank.R2>,
        b2: zeros(o),
      }));
      const loss = (x: TF.Tensor4D): TF.Scalar => {
        const z0 = tf.conv2d(x, stem, 2, 3);
        let h = tf.mul(z0, tf.sigmoid(z0)) as TF.Tensor4D;
        s.blocks.forEach((b, i) => {
          const w = blocks[i];
          const a0 = tf.conv2d(h, w.conv1, b.stride, 1);
          const a = tf.mul(a0, tf.sigmoid(a0)) as TF.Tensor4D;
          const c = tf.conv2d(a, w.conv2, 1, 1);
          const sc = w.shortcut ? tf.conv2d(h, w.shortcut, b.stride, 0) : h;
          const z = tf.add(c, sc);
          h = tf.mul(z, tf.sigmoid(z)) as TF.Tensor4D;
        });
        const pooled = tf.mean(h, [1, 2]) as TF.Tensor2D;
        const parts = heads.map((hd) => {
          const z = tf.add(tf.matMul(pooled, hd.w1), hd.b1);
          const a = tf.mul(z, tf.sigmoid(z)) as TF.Tensor2D;
          const y = tf.add(tf.matMul(a, hd.w2), hd.b2);
          return tf.mean(tf.square(y));
        });
        return tf.addN(parts) as TF.Scalar;
      };
      const setup = (nb: number) => {
        const x = tf.randomUniform(
          [nb, s.imageSize, s.imageSize, 1],
          0,
          1,
          "float32",
          99,
        ) as TF.Tensor4D;
        const fn = () => {
          const { value, grads } = tf.variableGrads(() => loss(x), vars);
          return [value, ...Object.values(grads)];
        };
        return { fn, dispose: () => x.dispose() };
      };
      // The stem has the largest weight-gradient reduction (N*OH*OW): keep it under the limit.
      const stemOut = convOut(s.imageSize, 7, 2, 3);
      const maxBatch = Math.max(1, Math.floor(LOOP_LIMIT / (stemOut * stemOut)));
      const r = await batchScaled(
        s.batch,
        maxBatch,
        setup,
        3 * plan.budgetS,
        15 * plan.budgetS,
        plan.quick ? 1 : 2,
      );
      r.samplesPerS = s.batch / (r.ms / 1000);
      if (s.batch > maxBatch && await dwTruncated(s.batch, s.imageSize, 1, 7, 2, 3)) {
        r.truncatedAtFullBatch = true;
        r.note = `${r.note ?? ""}${
          r.note ? "; " : ""
        }at batch ${s.batch} the stem's weight gradient is wrong (N*OH*OW = ${
          s.batch * stemOut * stemOut
        } loop iterations, cut at 65535 by llvmpipe)`;
      }
      cases[s.id] = r;
      log(
        `  ${s.id.padEnd(44)} ${r.ms.toFixed(1).padStart(10)} ms  ${
          r.samplesPerS.toFixed(2)
        } samples/s${r.note ? `  (${r.note})` : ""}`,
      );
      tf.dispose(vars);
    }
  }

  console.log(JSON.stringify({
    ok: true,
    peer: "tfjs",
    info: {
      tfjs: tf.version_core,
      backend: tf.getBackend(),
      flags: { WEBGPU_CPU_FORWARD: tf.env().getBool("WEBGPU_CPU_FORWARD") },
    },
    cases,
  }));
}

if (import.meta.main) {
  try {
    await main();
  } catch (e) {
    console.log(JSON.stringify({ ok: false, note: `TF.js peer failed: ${(e as Error).message}` }));
    console.error((e as Error).stack);
  }
}
