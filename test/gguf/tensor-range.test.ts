// GGUFFile.readTensorRange(Sync): a byte range of one tensor's data (loaders read matrices in row
// chunks) equals that slice of the whole tensor, for a file on disk, a Blob and a parsed buffer;
// a range past the tensor or with bad numbers is a GGUFError naming the tensor.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { blobSource, GGUFError, openGGUF, parseGGUF, type GGUFFile } from "../../src/index.js";
import { writeTestModel } from "../../src/model/factory/index.js";

const dir = mkdtempSync(join(tmpdir(), "tensor-range-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("readTensorRange = slice of readTensor; out of range is a GGUFError", async () => {
  const path = join(dir, "m.gguf");
  await writeTestModel(path, {
    arch: "llama",
    nEmbd: 64,
    nLayer: 1,
    nHead: 4,
    nHeadKv: 2,
    nFf: 96,
    nCtx: 64,
    nVocab: 300,
  });
  const bytes = readFileSync(path);
  const files: [string, GGUFFile][] = [
    ["path", await openGGUF(path)],
    ["blob", await openGGUF(blobSource(new Blob([bytes]), "m.gguf"))],
    ["memory", parseGGUF(new Uint8Array(bytes))],
  ];
  for (const [kind, f] of files) {
    for (const t of f.tensors) {
      const whole = await f.readTensor(t);
      const start = Math.floor(t.nBytes / 3);
      const len = Math.floor(t.nBytes / 2);
      const part = await f.readTensorRange(t, start, len);
      assert.deepEqual(
        Buffer.from(part),
        Buffer.from(whole.subarray(start, start + len)),
        `${kind} ${t.name}`,
      );
      if (kind !== "blob")
        assert.deepEqual(
          Buffer.from(f.readTensorRangeSync(t, start, len)),
          Buffer.from(part),
          `${kind} sync`,
        );
    }
    const t = f.tensors[0]!;
    for (const [s, n] of [
      [0, t.nBytes + 1],
      [t.nBytes, 1],
      [-1, 2],
      [0.5, 2],
    ])
      await assert.rejects(
        f.readTensorRange(t, s!, n!),
        (e: unknown) => e instanceof GGUFError && e.context.field === t.name,
        `${kind} ${s}+${n}`,
      );
    await f.close();
  }
});
