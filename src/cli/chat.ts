/**
 * `edgellm chat -m <file>`: interactive chat with the model's template. Streams the answer,
 * keeps history across turns (the engine's prefix cache reuses the previous turns' KV), and
 * prints TTFT and tokens/s after each answer. Commands: /reset, /system <text>, /exit.
 * Ctrl-C stops the current answer; Ctrl-C at the prompt (or Ctrl-D) leaves. With --cloud/--policy
 * each turn is routed like the server does (src/router/chat-turn.ts) and the route is printed.
 */
import type { Command } from "commander";
import { createInterface } from "node:readline/promises";
import { SingleBar } from "cli-progress";
import { loadLLM } from "../engine/llm.js";
import { parsePositiveInt } from "./prompt-input.js";
import { addCloudOptions, routerFromOptions, type CloudOptions } from "../router/cli-options.js";
import { describeDecision, routedSend } from "../router/chat-turn.js";
import { addReasoningOptions, reasoningGenOptions, type ReasoningCliOptions } from "../reasoning/cli-options.js";

export function register(program: Command): void {
  const cmd = program
    .command("chat")
    .description("interactive chat in the terminal")
    .requiredOption("-m, --model <file>", "GGUF model")
    .option("-s, --system <text>", "system message")
    .option("-n, --max-tokens <n>", "most tokens per answer", "512")
    .option("--temp <t>", "temperature", "0.7")
    .option("--top-p <p>", "nucleus sampling", "0.95")
    .option("--seed <n>", "seed for reproducible answers")
    .option("-c, --ctx-size <n>", "context size")
    .option("--kernels <kind>", "wasm or ts", "wasm")
    .option("--threads <n>", "threads for the WASM kernels");
  addReasoningOptions(cmd, false); // --thinking-budget (src/reasoning)
  addCloudOptions(cmd) // edge + cloud routing (src/router)
    .action(async (o: { model: string; system?: string; maxTokens: string; temp: string; topP: string; seed?: string; ctxSize?: string; kernels: string; threads?: string } & CloudOptions & ReasoningCliOptions) => {
      const router = await routerFromOptions(o);
      const bar = new SingleBar({ format: "loading [{bar}] {percentage}% {phase}", hideCursor: true, stream: process.stderr });
      bar.start(100, 0, { phase: "" });
      const llm = await loadLLM(o.model, {
        kernels: o.kernels as "wasm" | "ts",
        threads: o.threads === undefined ? undefined : parsePositiveInt("--threads", o.threads),
        contextSize: o.ctxSize === undefined ? undefined : parsePositiveInt("--ctx-size", o.ctxSize),
        parallel: 1,
        onProgress: (p) => bar.update(Math.round(p.fraction * 100), { phase: p.phase }),
      }).finally(() => bar.stop());
      const session = llm.createSession(o.system);
      const gen = { maxTokens: parsePositiveInt("--max-tokens", o.maxTokens), temperature: Number(o.temp), topP: Number(o.topP), seed: o.seed === undefined ? undefined : Number(o.seed), ...reasoningGenOptions(llm, o) };
      const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: process.stdin.isTTY });
      let current: AbortController | undefined;
      let quit = false;
      rl.on("SIGINT", () => {
        if (current) current.abort();
        else {
          quit = true;
          rl.close();
        }
      });
      rl.on("close", () => (quit = true));
      process.stderr.write(`${llm.name} ready (context ${llm.contextSize}). /reset, /system <text>, /exit; Ctrl-C stops an answer.\n`);
      try {
        while (!quit) {
          let line: string;
          try {
            line = await rl.question("> ");
          } catch {
            break; // input closed
          }
          const text = line.trim();
          if (!text) continue;
          if (text === "/exit" || text === "/quit") break;
          if (text === "/reset") {
            session.reset();
            process.stderr.write("(history cleared)\n");
            continue;
          }
          if (text.startsWith("/system")) {
            session.setSystem(text.slice(7).trim());
            session.reset();
            process.stderr.write("(system message set, history cleared)\n");
            continue;
          }
          current = new AbortController();
          const t0 = performance.now();
          let tFirst = 0;
          let n = 0;
          let cached = 0;
          let reason = "";
          try {
            const turn = router ? routedSend(session, router, text, { ...gen, signal: current.signal }, (d) => process.stderr.write(`${describeDecision(d)}\n`)) : session.send(text, { ...gen, signal: current.signal });
            for await (const c of turn) {
              if (c.type === "token" && n++ === 0) tFirst = performance.now();
              if (c.type === "done") {
                cached = c.cachedTokens;
                reason = c.reason;
              }
              process.stdout.write(c.text);
            }
          } finally {
            current = undefined;
          }
          const t1 = performance.now();
          const tps = n > 1 ? ((n - 1) * 1000) / (t1 - tFirst) : 0;
          process.stderr.write(`\n[TTFT ${(tFirst ? tFirst - t0 : 0).toFixed(0)} ms | ${n} tok | ${tps.toFixed(1)} tok/s | prefix reused ${cached} tok${reason === "abort" ? " | stopped" : ""}]\n`);
        }
      } finally {
        rl.close();
        await llm.close();
      }
    });
}
