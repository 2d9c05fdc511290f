/**
 * A language model fed image embeddings (issue #22): for each golden case, llama-mtmd-cli ran the
 * random-weight LM with the mmproj's embeddings of the image at the chat template's media marker
 * and wrote the prompt it rendered and its greedy continuation (scripts/mtmd-golden.mjs, -fa off,
 * --temp 0). We render the same chat, put our encoder's embeddings at the marker through the
 * engine (the image span is its own causal forward chunk, as mtmd decodes LLaVA images) and
 * must generate the same text (gemma3: the rows between <start_of_image> and <end_of_image>,
 * attended non-causally, as mtmd decodes Gemma 3 images; the gemma3-nc* cases' tokens differ when
 * the rows are attended causally, so they check that). The image matters: a blank image must change the continuation of
 * at least one case, else the check could pass on text alone.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeTestMmproj } from "../../src/model/factory/mmproj.js";
import { writeTestModel } from "../../src/model/factory/index.js";
import { loadLLM, MEDIA_MARKER, type LLM } from "../../src/engine/llm.js";
import { applyChatTemplate } from "../../src/tokenizer/chat-template.js";
import { openVisionModel, type ImageEmbeddings } from "../../src/vision/index.js";
import { GOLDEN_DIR, loadCases, readPpm } from "./fixtures.js";

interface Greedy {
  /** The chat llama-mtmd-cli rendered (marker included). */
  prompt: string;
  /** What it printed while generating: the pieces, then "\n" if it stopped at end-of-generation. */
  stdout: string;
  nPredict: number;
}

/**
 * What llama-mtmd-cli prints for generated ids: each piece as common_token_to_piece renders it
 * (special tokens included, no SentencePiece leading-space removal), the end-of-generation token
 * not printed but followed by "\n"; stdout read as UTF-8.
 */
function cliStdout(llm: LLM, tokens: readonly number[]): string {
  const bytes: number[] = [];
  let eog = false;
  for (const t of tokens) {
    if (llm.tokenizer.isEog(t)) {
      eog = true;
      break;
    }
    bytes.push(...llm.tokenizer.tokenBytes(t, true));
  }
  return new TextDecoder().decode(Uint8Array.from(bytes)) + (eog ? "\n" : "");
}

const greedy = JSON.parse(readFileSync(join(GOLDEN_DIR, "greedy.json"), "utf8")) as Record<string, Greedy>;
const messages = [{ role: "user", content: `${MEDIA_MARKER}describe` }];

async function answer(
  llm: LLM,
  emb: ImageEmbeddings,
  key: string,
  n: number,
  nonCausal = emb.nonCausal,
): Promise<string> {
  const { begin, end } = emb;
  const p = llm.encodeChatMedia(messages, [
    { data: emb.data, nTokens: emb.nTokens, key, begin, end, nonCausal },
  ]);
  const c = await llm.complete(p.tokens, { media: p.media, temperature: 0, maxTokens: n });
  return cliStdout(llm, c.choices[0]!.tokens);
}

test("vision: greedy tokens of an LM fed the projector's embeddings = llama-mtmd-cli", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "vision-greedy-"));
  let imageMatters = false;
  try {
    for (const c of loadCases()) {
      const g = greedy[c.name];
      if (!g) continue;
      await t.test(c.name, async () => {
        const mm = join(dir, `${c.name}.mmproj.gguf`);
        const lm = join(dir, `${c.name}.lm.gguf`);
        await writeTestMmproj(mm, c.mmproj);
        await writeTestModel(lm, c.lm);
        const llm = await loadLLM(lm, { threads: 2, chatTemplate: "chatml" });
        try {
          const vm = await openVisionModel(mm, llm.kernels!);
          const rendered = applyChatTemplate(llm.tokenizer, messages, {
            addGenerationPrompt: true,
            template: "chatml",
          });
          assert.equal(rendered, g.prompt, "the rendered chat");
          const img = readPpm(join(GOLDEN_DIR, c.image));
          const got = await answer(llm, vm.encodeImage(img), c.image, g.nPredict);
          t.diagnostic(`${c.name}: ${JSON.stringify(got)}`);
          assert.equal(got, g.stdout);
          if (c.nonCausalMatters) {
            // the case tells the two attentions apart: llama.cpp's tokens are not the causal ones
            const emb = vm.encodeImage(img);
            assert.ok(emb.nonCausal);
            assert.notEqual(
              await answer(llm, emb, "causal", g.nPredict, false),
              g.stdout,
              "causal image rows",
            );
          }
          const blank = { ...img, data: new Uint8Array(img.data.length).fill(128) };
          if ((await answer(llm, vm.encodeImage(blank), "blank", g.nPredict)) !== got) imageMatters = true;
        } finally {
          await llm.close();
        }
      });
    }
    assert.ok(imageMatters, "no case's continuation depends on the image");
    await t.test("prefill chunks of 7 (inside and across the image span): the same tokens", async () => {
      const c = loadCases()[0]!;
      const mm = join(dir, `${c.name}.mmproj.gguf`);
      const lm = join(dir, `${c.name}.lm.gguf`);
      const llm = await loadLLM(lm, { threads: 2, chatTemplate: "chatml", prefillChunk: 7 });
      try {
        const vm = await openVisionModel(mm, llm.kernels!);
        const emb = vm.encodeImage(readPpm(join(GOLDEN_DIR, c.image)));
        assert.equal(await answer(llm, emb, "a", greedy[c.name]!.nPredict), greedy[c.name]!.stdout);
        // The same prompt ids with another image's rows: the prefix cache must not hand back the
        // first image's KV (blocks are salted by the image key).
        const blank = vm.encodeImage({ width: 112, height: 112, data: new Uint8Array(112 * 112 * 3) });
        assert.notEqual(await answer(llm, blank, "b", greedy[c.name]!.nPredict), greedy[c.name]!.stdout);
      } finally {
        await llm.close();
      }
    });
    await t.test("gemma3: the image is one non-causal forward chunk whatever the chunk size", async () => {
      const c = loadCases().find((x) => x.name === "gemma3")!;
      const mm = join(dir, `${c.name}.mmproj.gguf`);
      const lm = join(dir, `${c.name}.lm.gguf`);
      const g = greedy[c.name]!;
      const llm = await loadLLM(lm, { threads: 2, chatTemplate: "chatml", prefillChunk: 7 });
      try {
        const vm = await openVisionModel(mm, llm.kernels!);
        const emb = vm.encodeImage(readPpm(join(GOLDEN_DIR, c.image)));
        assert.ok(emb.nonCausal && emb.nTokens > 7);
        assert.equal(
          await answer(llm, emb, "nc", g.nPredict),
          g.stdout,
          "chunks of 7, the 16-row image whole",
        );
        // This one-layer LM gives the same 12 tokens with the image attended causally, so this
        // checks the chunking; the gemma3-nc* cases (3-layer gemma3 LMs) tell the attentions apart.
      } finally {
        await llm.close();
      }
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
