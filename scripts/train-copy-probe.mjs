// How a model copies a long number from the question (issue #18, 7-digit tool calls): greedy
// continuations of
//   plain   a chat question without tools (the thought's first line restates the numbers),
//   auto    the server's tool prompt for the default template (buildToolPrompt, tool_choice auto),
//   call    that prompt + the model's own thought + the call up to `{"expression": "` + a prefix of
//           the number (where the copy into the call starts or stops).
//   node scripts/train-copy-probe.mjs <model.gguf> [question]    (EDGELLM_DIST picks the build)
import path from "node:path";
import { pathToFileURL } from "node:url";

const dist = path.resolve(process.env.EDGELLM_DIST ?? "dist");
const imp = (p) => import(pathToFileURL(path.join(dist, p)).href);
const { loadLLM } = await imp("src/engine/llm.js");
const { buildToolPrompt } = await imp("src/tools/prompt.js");
const { calculatorTool } = await imp("src/tools/builtin/calculator.js");

const model = process.argv[2];
const q = process.argv[3] ?? "What is 4865098 × 832?";
const m = q.match(/(\d+) ([×*+-]) (\d+)/);
if (!model || !m) {
  console.error("usage: node scripts/train-copy-probe.mjs <model.gguf> ['What is 4865098 × 832?']");
  process.exit(1);
}
const llm = await loadLLM(model, { kernels: "wasm", threads: 1 });
const greedy = async (input, maxTokens) =>
  (await llm.complete(input, { temperature: 0, maxTokens })).choices[0].text;
try {
  const plain = await greedy({ messages: [{ role: "user", content: q }] }, 30);
  console.log(`plain: ${JSON.stringify(plain)}`);
  const { prompt } = buildToolPrompt(
    llm.tokenizer,
    [{ role: "user", content: q }],
    [calculatorTool.definition],
    {
      toolChoice: "auto",
    },
  );
  const auto = await greedy(prompt, 160);
  console.log(`auto:  ${JSON.stringify(auto)}`);
  // the call after the model's own thought, and the call with no thought (as a forced call starts)
  const at = auto.indexOf('"expression": "');
  const direct = `<tool_call>\n{"name": "calculator", "arguments": {"expression": "`;
  const heads = [["no thought", direct]];
  if (at >= 0) heads.unshift(["own thought", auto.slice(0, at + 15)]);
  const a = m[1];
  for (const [name, head] of heads)
    for (const pre of ["", a.slice(0, 1), a.slice(0, 2), a.slice(0, 4)]) {
      const c = await greedy(prompt + head + pre, 12);
      console.log(`call (${name}) after ${JSON.stringify(pre)}: ${JSON.stringify(c)}`);
    }
} finally {
  await llm.close();
}
