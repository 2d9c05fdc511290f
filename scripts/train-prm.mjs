// The process reward model (src/train/prm.ts) in one command: labelled step examples from the v2
// corpus (half with one digit corrupted, labelled by the rule checker), then a LoRA adapter on the
// default model trained to answer yes/no (the `edgellm train --lora` loop: checkpoints every 50
// steps, --resume continues), then its accuracy on held-out examples (another seed).
//   nice -n 10 node scripts/train-prm.mjs [--out build/prm/prm.gguf] [--steps 300] [--stop-at N] [--examples 6000] [--resume]
// (--stop-at: end at step N of the --steps schedule and write the adapter; --resume later continues it)
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { prmExamples, PrmVerifier } from "../dist/src/train/prm.js";
import { V2_MODEL_DATA } from "../dist/src/train/presets.js";
import { runLoraTraining } from "../dist/src/train/lora-run.js";
import { loadLLM } from "../dist/src/engine/llm.js";

const arg = (k, d) => {
  const i = process.argv.indexOf(k);
  return i >= 0 ? process.argv[i + 1] : d;
};
const out = arg("--out", "build/prm/prm.gguf");
const steps = Number(arg("--steps", "300"));
const stopAt = arg("--stop-at") === undefined ? undefined : Number(arg("--stop-at"));
const n = Number(arg("--examples", "6000"));
const base = arg("--base", "models/edgellm-default-f32.gguf");
const evalN = Number(arg("--eval", "400"));
await mkdir(dirname(out), { recursive: true });
const t0 = performance.now();
if (steps > 0) {
  const data = prmExamples(n, V2_MODEL_DATA, 7).map((e) => ({ messages: e.messages }));
  const r = await runLoraTraining({
    base,
    data,
    out,
    work: `${dirname(out)}/work`,
    rank: 16,
    alpha: 32,
    steps,
    stopAt,
    batch: 8,
    seqLen: 128,
    lr: 1e-3,
    seed: 1,
    resume: process.argv.includes("--resume"),
    progress: process.stderr.isTTY,
  });
  console.log(
    `trained ${r.steps} steps on ${data.length} examples: loss ${r.firstLoss.toFixed(3)} -> ${r.finalLoss.toFixed(3)}, ${r.seconds.toFixed(0)} s, ${r.tokensPerSec.toFixed(0)} tok/s`,
  );
}
// held-out accuracy against the rule checker's labels (seed 99: other problems)
const llm = await loadLLM(base, { lora: [{ path: out }] });
const prm = new PrmVerifier(llm);
const test = prmExamples(evalN, V2_MODEL_DATA, 99);
let right = 0;
let tp = 0;
let fn = 0;
let tn = 0;
let fp = 0;
for (const e of test) {
  const p = await prm.lineScore(e.messages.slice(0, 1));
  const yes = p >= 0.5;
  if (yes === e.ok) right++;
  if (e.ok) yes ? tp++ : fn++;
  else yes ? fp++ : tn++;
}
await llm.close();
console.log(
  `held-out: ${right}/${test.length} = ${((100 * right) / test.length).toFixed(1)}% agree with the rule checker (right lines judged yes ${tp}/${tp + fn}, wrong lines judged no ${tn}/${tn + fp}); total ${((performance.now() - t0) / 1000).toFixed(0)} s`,
);
