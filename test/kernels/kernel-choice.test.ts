// The per-type int8-dot choice (src/kernels/wasm/kernel-choice.ts): the default table measured in
// docs/kernels.md (Q4_0, Q4_1, Q5_0, Q5_1, Q4_K on int8 dots; Q5_K, Q6_K and Q8_0 on i16), its
// overrides (option over EDGELLM_DOT8; "0", "1" or a list of type names) and their typed errors,
// and that a set prepares each type in the layout its choice names.
import { test } from "node:test";
import assert from "node:assert/strict";
import { KernelError } from "../../src/errors.js";
import { GGMLType } from "../../src/gguf/types.js";
import { dot8Types } from "../../src/kernels/wasm/kernel-choice.js";
import { createWasmKernelSet } from "../../src/kernels/wasm/wasm-kernel-set.js";
import { randomWeight } from "./helpers.js";

const TABLE = [GGMLType.Q4_0, GGMLType.Q4_1, GGMLType.Q5_0, GGMLType.Q5_1, GGMLType.Q4_K];
const sorted = (s: ReadonlySet<GGMLType>) => [...s].sort((a, b) => a - b);

test("default: the measured table on the relaxed build, nothing on SIMD128", () => {
  assert.deepEqual(
    sorted(dot8Types(undefined, undefined, true)),
    [...TABLE].sort((a, b) => a - b),
  );
  for (const t of [GGMLType.Q5_K, GGMLType.Q6_K, GGMLType.Q8_0])
    assert.equal(dot8Types(undefined, undefined, true).has(t), false);
  assert.equal(dot8Types(undefined, undefined, false).size, 0);
  assert.deepEqual(sorted(dot8Types(true, undefined, false)), sorted(dot8Types(undefined, undefined, true)));
  assert.deepEqual(sorted(dot8Types(undefined, "1", false)), sorted(dot8Types(undefined, undefined, true)));
  assert.equal(dot8Types(undefined, "0", true).size, 0);
  assert.equal(dot8Types(undefined, "", true).size, TABLE.length);
});

test("a list of types, from the option or EDGELLM_DOT8; the option wins", () => {
  assert.deepEqual(
    sorted(dot8Types(undefined, "q6_k, Q5_K", true)),
    [GGMLType.Q5_K, GGMLType.Q6_K].sort((a, b) => a - b),
  );
  assert.deepEqual(sorted(dot8Types([GGMLType.Q8_0], "Q6_K", true)), [GGMLType.Q8_0]);
  assert.equal(dot8Types(false, "1", true).size, 0);
  assert.equal(dot8Types([], undefined, true).size, 0);
});

test("unknown names and types without int8-dot kernels are KernelErrors naming the source", () => {
  assert.throws(
    () => dot8Types(undefined, "Q4_K,Q9_Z", true),
    (e: unknown) => {
      assert.ok(e instanceof KernelError);
      assert.match(e.message, /Q9_Z/);
      assert.match(e.message, /EDGELLM_DOT8/);
      return true;
    },
  );
  assert.throws(
    () => dot8Types(undefined, "F16", true),
    (e: unknown) => e instanceof KernelError && /F16/.test(e.message),
  );
  assert.throws(
    () => dot8Types([GGMLType.Q2_K], undefined, true),
    (e: unknown) => e instanceof KernelError && /dot8/.test(e.message),
  );
});

test("a set prepares each type in the layout its choice names", async () => {
  const ks = await createWasmKernelSet({ threads: 1, dot8: [GGMLType.Q6_K] });
  try {
    const layout = (t: GGMLType) =>
      (ks.prepareWeight(t, randomWeight(t, 4, 256, 3), 4, 256) as unknown as { dot8: boolean }).dot8;
    assert.equal(layout(GGMLType.Q6_K), true);
    assert.equal(layout(GGMLType.Q4_K), false);
    assert.equal(ks.dot8, true);
    assert.deepEqual(ks.packing().dot8Types, [GGMLType.Q6_K]);
  } finally {
    await ks.dispose();
  }
});
