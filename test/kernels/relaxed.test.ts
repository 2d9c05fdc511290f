/**
 * The relaxed-SIMD build (kernels-relaxed.wasm: fused multiply-add in every matvec/matmul) passes
 * the same checks as the SIMD128 build: matvec.test.ts and fused.test.ts rerun in a child Node with relaxed SIMD
 * enabled (Node 20 needs --experimental-wasm-relaxed-simd, and --no-liftoff: its baseline
 * compiler gets relaxed_dot wrong, which the self-check catches) and EDGELLM_SIMD=relaxed, which makes
 * createWasmKernelSet fail rather than fall back. Also: without engine support, "relaxed" is a
 * typed error and "auto" falls back to SIMD128.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { createWasmKernelSet } from "../../src/kernels/wasm/wasm-kernel-set.js";
import { engineHasRelaxedSimd, RELAXED_NODE_FLAGS } from "../../src/platform/relaxed-simd-node.js";

const run = promisify(execFile);
const MATVEC = fileURLToPath(new URL("./matvec.test.js", import.meta.url));
const FUSED = fileURLToPath(new URL("./fused.test.js", import.meta.url));
const ROPE = fileURLToPath(new URL("./rope-softmax.test.js", import.meta.url));

for (const dot32 of ["0", "1"])
  test(`matvec/matmul and fused-product tests pass on the relaxed-SIMD kernels (EDGELLM_DOT32=${dot32})`, async () => {
    // NODE_TEST_CONTEXT would make the child report to this runner instead of printing TAP
    // DOT32=1 forces the i32-lane int8-dot build (chosen by timing where the engine lowers the
    // relaxed dot natively), 0 the i16 one: both must give the same exact integer dots.
    const env: NodeJS.ProcessEnv = { ...process.env, EDGELLM_SIMD: "relaxed", EDGELLM_DOT32: dot32 };
    delete env.NODE_TEST_CONTEXT;
    // Node >= 22 has relaxed SIMD on by default, and Node 24 rejects the flag ("bad option").
    const flags = engineHasRelaxedSimd() ? [] : [...RELAXED_NODE_FLAGS];
    const { stdout } = await run(
      process.execPath,
      [...flags, "--test", "--test-reporter=tap", MATVEC, FUSED, ROPE],
      {
        env,
        maxBuffer: 16 << 20,
      },
    ).catch((e: { stdout: string; stderr: string }) => {
      assert.fail(`child test run failed:\n${e.stdout.slice(-4000)}\n${e.stderr.slice(-2000)}`);
    });
    assert.match(stdout, /# fail 0/);
    const pass = Number(/# pass (\d+)/.exec(stdout)?.[1]);
    assert.ok(pass >= 50, `only ${pass} tests passed`);
  });

test("simd128 is always available; relaxed is a KernelError where the engine lacks it", async () => {
  const k = await createWasmKernelSet({ threads: 1, simd: "simd128" });
  assert.equal(k.name, "wasm-simd128");
  await k.dispose();
  const validates = WebAssembly.validate(
    // (module (func (result v128) v128.const i32x4 0 0 0 0 v128.const ... f32x4.relaxed_madd))
    Uint8Array.from([
      0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 61, 1, 59, 0, 253, 12, 0, 0, 0, 0,
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 253, 12, 0,
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 253, 133, 2, 11,
    ]),
  );
  if (validates) {
    const r = await createWasmKernelSet({ threads: 1, simd: "relaxed" });
    assert.equal(r.name, "wasm-relaxed-simd");
    await r.dispose();
  } else {
    await assert.rejects(createWasmKernelSet({ threads: 1, simd: "relaxed" }), { name: "KernelError" });
    const a = await createWasmKernelSet({ threads: 1 });
    assert.equal(a.name, "wasm-simd128");
    await a.dispose();
  }
});
