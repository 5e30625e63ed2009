/** TensorBoard event files: record framing, Event encoding, buffering, resume, corruption. */
import assert from "node:assert/strict";
import {
  encodeRecord,
  eventFiles,
  FILE_VERSION,
  lastLoggedStep,
  maskedCrc32c,
  readEvents,
  SummaryWriter,
} from "../conditioner/tensorboard.ts";

/** A fresh temporary directory removed after `fn`. */
async function withTempDir(fn: (dir: string) => void | Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "tb_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A settable fake clock in milliseconds. */
function fakeClock(startMs: number): { now: () => number; advance: (ms: number) => void } {
  let t = startMs;
  return { now: () => t, advance: (ms) => (t += ms) };
}

const hexBytes = (hex: string): Uint8Array =>
  new Uint8Array(hex.match(/../g)!.map((h) => parseInt(h, 16)));

Deno.test("maskedCrc32c: CRC32C check value '123456789' (0xE3069283), masked", () => {
  // mask(0xE3069283) = rotr15 + 0xa282ead8, computed independently with a bitwise CRC32C.
  assert.equal(maskedCrc32c(new TextEncoder().encode("123456789")), 0xc78ab0e5);
});

Deno.test("encodeRecord: uint64 length, masked CRCs of length and data", () => {
  const data = hexBytes("090000000000000040" + "1003" + "2a0a" + "0a08" + "0a0161" + "150000803f");
  const rec = encodeRecord(data);
  assert.equal(rec.length, 8 + 4 + 23 + 4);
  const view = new DataView(rec.buffer);
  assert.equal(view.getBigUint64(0, true), 23n);
  assert.equal(view.getUint32(8, true), 0x1ef8cee7);
  assert.deepEqual(rec.subarray(12, 35), data);
  assert.equal(view.getUint32(35, true), 0x7c714312);
});

Deno.test("SummaryWriter: file name, version record, exact scalar Event bytes", async () => {
  await withTempDir((dir) => {
    const clock = fakeClock(1_700_000_000_250);
    const logDir = `${dir}/runs/new`;
    const w = new SummaryWriter(logDir, { hostname: "hostA", clock: clock.now });
    assert.equal(w.path, `${logDir}/events.out.tfevents.1700000000.hostA`);
    w.addScalar("a", 1, 3, 2.0);
    w.close();
    const bytes = Deno.readFileSync(w.path);
    const firstLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    // Event{wall_time=2.0, step=3, summary{value{tag="a", simple_value=1.0}}}, hand-encoded.
    const expected = hexBytes(
      "090000000000000040" + "1003" + "2a0a" + "0a08" + "0a0161" + "150000803f",
    );
    assert.deepEqual(bytes.subarray(16 + firstLen), encodeRecord(expected));
    const events = readEvents(w.path);
    assert.deepEqual(events[0], { wallTime: 1_700_000_000.25, step: 0, fileVersion: FILE_VERSION });
    assert.deepEqual(events[1], { wallTime: 2, step: 3, tag: "a", value: 1 });
  });
});

Deno.test("SummaryWriter: values round-trip as float32, zero and non-finite kept", async () => {
  await withTempDir((dir) => {
    const w = new SummaryWriter(dir, { hostname: "h" });
    const values = [0.1, 0, -2.5, NaN, Infinity, 1e-8];
    values.forEach((v, i) => w.addScalar("Learning Rate", v, i * 10));
    w.close();
    const events = readEvents(w.path).slice(1);
    assert.equal(events.length, values.length);
    events.forEach((ev, i) => {
      assert.equal(ev.tag, "Learning Rate");
      assert.equal(ev.step, i * 10);
      assert.ok(Object.is(ev.value, Math.fround(values[i])), `value ${i}: ${ev.value}`);
    });
  });
});

Deno.test("SummaryWriter: buffers until flush, maxQueue or flushSeconds", async () => {
  await withTempDir((dir) => {
    const clock = fakeClock(1_700_000_000_000);
    const w = new SummaryWriter(dir, {
      hostname: "h",
      clock: clock.now,
      maxQueue: 3,
      flushSeconds: 5,
    });
    assert.equal(readEvents(w.path).length, 1, "the version record is written at once");
    w.addScalar("x", 1, 1);
    w.addScalar("x", 2, 2);
    assert.equal(w.pending, 2);
    assert.equal(readEvents(w.path).length, 1);
    w.addScalar("x", 3, 3); // third record reaches maxQueue
    assert.equal(w.pending, 0);
    assert.equal(readEvents(w.path).length, 4);
    w.addScalar("x", 4, 4);
    clock.advance(4_999);
    w.addScalar("x", 5, 5);
    assert.equal(w.pending, 2, "4.999 s after the oldest queued add: not yet");
    clock.advance(1);
    w.addScalar("x", 6, 6);
    assert.equal(w.pending, 0, "5 s after the oldest queued add: flushed");
    w.addScalar("x", 7, 7);
    w.flush();
    assert.deepEqual(readEvents(w.path).slice(1).map((e) => e.value), [1, 2, 3, 4, 5, 6, 7]);
    w.close();
    w.close();
    assert.throws(() => w.addScalar("x", 8, 8), /after close\(\)/);
  });
});

Deno.test("SummaryWriter: rejects a non-integer step", async () => {
  await withTempDir((dir) => {
    const w = new SummaryWriter(dir, { hostname: "h" });
    assert.throws(() => w.addScalar("x", 1, 1.5), /step must be an integer, got 1.5/);
    w.close();
  });
});

Deno.test("SummaryWriter: resume creates a new file and keeps the old one", async () => {
  await withTempDir((dir) => {
    const clock = fakeClock(1_700_000_000_000);
    const a = new SummaryWriter(dir, { hostname: "h", clock: clock.now });
    for (let s = 0; s < 5; s++) a.addScalar("loss", 1 / (s + 1), s);
    a.addScalar("lr", 0.1, 7);
    a.close();
    const before = Deno.readFileSync(a.path);
    // Same second and host: the name is taken, so the new writer must pick another.
    const b = new SummaryWriter(dir, { hostname: "h", clock: clock.now });
    assert.equal(b.path, `${a.path}.1`);
    b.addScalar("loss", 0.05, 5);
    b.addScalar("loss", 0.04, 6);
    b.close();
    assert.deepEqual(Deno.readFileSync(a.path), before);
    assert.deepEqual(eventFiles(dir), [a.path, b.path]);
    assert.equal(lastLoggedStep(dir), 7);
    assert.equal(lastLoggedStep(dir, "loss"), 6);
    assert.equal(lastLoggedStep(dir, "missing"), null);
    assert.equal(lastLoggedStep(`${dir}/does-not-exist`), null);
  });
});

Deno.test("readEvents: corrupt data, corrupt length and truncation name the offset", async () => {
  await withTempDir((dir) => {
    const w = new SummaryWriter(dir, { hostname: "h" });
    w.addScalar("x", 1, 1);
    w.addScalar("x", 2, 2);
    w.close();
    const good = Deno.readFileSync(w.path);
    const view = new DataView(good.buffer);
    const len0 = Number(view.getBigUint64(0, true));
    const second = 16 + len0;
    const len1 = Number(view.getBigUint64(second, true));
    const third = second + 16 + len1;
    const path = `${dir}/events.out.tfevents.bad`;

    const dataFlip = good.slice();
    dataFlip[second + 12 + 3] ^= 0x01;
    Deno.writeFileSync(path, dataFlip);
    assert.throws(
      () => readEvents(path),
      new RegExp(`byte offset ${second}: data CRC mismatch`),
    );

    const lenFlip = good.slice();
    lenFlip[third] ^= 0x01;
    Deno.writeFileSync(path, lenFlip);
    assert.throws(
      () => readEvents(path),
      new RegExp(`byte offset ${third}: length CRC mismatch`),
    );

    Deno.writeFileSync(path, good.subarray(0, good.length - 3));
    assert.throws(() => readEvents(path), new RegExp(`truncated record at byte offset ${third}`));
    const tolerant = readEvents(path, { allowTruncatedTail: true });
    assert.deepEqual(tolerant.map((e) => e.value), [undefined, 1]);
    assert.equal(lastLoggedStep(dir), 2, "the intact file still counts");
  });
});
