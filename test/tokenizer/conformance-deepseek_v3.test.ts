/** Token ids and detokenized text equal llama.cpp's on the hard corpus, real deepseek_v3 vocabulary. */
import { test } from "node:test";
import { assertConformant, runConformance } from "./conformance.js";

test("deepseek_v3: encode/decode identical to llama.cpp on the corpus", { timeout: 120_000 }, async () => {
  assertConformant(await runConformance("deepseek_v3", { hf: process.env.EDGELLM_TOK_HF === "1" }));
});
