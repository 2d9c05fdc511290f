/**
 * The file reader (header read in growing chunks, restarted on NeedMoreBytes) must accept and
 * reject exactly what the in-memory reader does. A 16-byte first chunk forces many restarts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openGGUF, parseGGUF } from "../../src/gguf/reader.js";
import { Rng } from "../../src/sampling/rng.js";
import { fuzzSeeds, mutate } from "./gguf-fuzz.js";

function outcome(
  f: () => { tensors: unknown[]; metadata: Map<string, unknown>; dataOffset: number },
): string {
  try {
    const g = f();
    return `ok ${g.tensors.length} tensors, ${g.metadata.size} keys, data at ${g.dataOffset}`;
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message.replace(/ \(.*$/s, "")}`;
  }
}

test("openGGUF (chunked header reads) and parseGGUF agree on 300 mutated files", async () => {
  const seeds = fuzzSeeds();
  const rng = Rng.stream(99, 0);
  const dir = mkdtempSync(join(tmpdir(), "fuzz-file-"));
  try {
    let ok = 0;
    for (let i = 0; i < 300; i++) {
      const bytes = i < seeds.length ? seeds[i]!.bytes : mutate(seeds[i % seeds.length]!, rng);
      const p = join(dir, `m${i}.gguf`);
      writeFileSync(p, bytes);
      const mem = outcome(() => parseGGUF(bytes));
      let file: string;
      try {
        const g = await openGGUF(p, { headerChunkBytes: 16 });
        file = `ok ${g.tensors.length} tensors, ${g.metadata.size} keys, data at ${g.dataOffset}`;
        for (const t of g.tensors)
          assert.deepEqual(await g.readTensor(t), parseGGUF(bytes).readTensorSync(t.name));
        await g.close();
        ok++;
      } catch (e) {
        file = `${(e as Error).name}: ${(e as Error).message.replace(/ \(.*$/s, "")}`;
      }
      assert.equal(file, mem, `input ${i}`);
    }
    assert.ok(ok >= seeds.length);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
