/**
 * `edgellm testmodel --arch X` for the families whose specs need more than a shape (experts, MLA
 * ranks, sliding windows), driven as a user would (the compiled CLI in a child process), and
 * `edgellm inspect --json` reporting their per-layer kinds.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execCli } from "./helpers.js";

const cli = (...args: string[]) => execCli(args);

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), "cli-testmodel-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

// tiny preset: 4 layers, context 1024 -> window 256.
const EXPECT: Record<string, string[]> = {
  gemma3: ["L256", "L256", "L256", "G"],
  gemma2: ["L256", "G", "L256", "G"],
  qwen3moe: ["G", "G", "G", "G"],
  qwen2moe: ["G", "G", "G", "G"],
  deepseek2: ["G", "G", "G", "G"],
  lfm2: ["recurrent", "recurrent", "G", "recurrent"],
  qwen35: ["recurrent", "recurrent", "recurrent", "G"],
  qwen35moe: ["recurrent", "recurrent", "recurrent", "G"],
  qwen3next: ["recurrent", "recurrent", "recurrent", "G"],
  "gpt-oss": ["L256", "G", "L256", "G"],
  smollm3: ["G", "G", "G", "G-NoPE"],
};

for (const [arch, kinds] of Object.entries(EXPECT)) {
  test(`testmodel --arch ${arch} builds; inspect shows its layer kinds`, async () => {
    const out = join(dir, `${arch}.gguf`);
    const w = await cli("testmodel", out, "--arch", arch);
    assert.match(w.stdout, new RegExp(`wrote .*: ${arch} tiny`));
    const r = JSON.parse((await cli("inspect", out, "--json")).stdout) as {
      layers: { kind: string; window: number; noRope?: boolean }[];
    };
    assert.deepEqual(
      r.layers.map(
        (l) =>
          (l.kind === "attention" ? (l.window > 0 ? `L${l.window}` : "G") : l.kind) +
          (l.noRope ? "-NoPE" : ""),
      ),
      kinds,
    );
  });
}
