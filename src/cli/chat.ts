/**
 * `edgellm chat -m <file>`: interactive chat with the model's template. Streams the answer,
 * keeps history across turns (the engine's prefix cache reuses the previous turns' KV), and
 * prints TTFT and tokens/s after each answer. Commands: /reset, /system <text>, /exit.
 * Ctrl-C stops the current answer; Ctrl-C at the prompt (or Ctrl-D) leaves.
 *
 * Input may also be piped (`printf 'Hi\n/reset\n' | edgellm chat -m f.gguf`): lines are read from
 * a buffered iterator, so lines that arrive while an answer streams wait their turn instead of
 * being lost, and end of input leaves after the last answer. Without a terminal no prompt is
 * drawn: stdout carries only the answers (one per line), stderr the status and speed lines.
 * With --cloud/--policy each turn is routed as the server routes requests (src/router/chat-turn.ts)
 * and a route line goes to stderr.
 * --session <file> resumes a saved conversation with its KV (no re-prefill; kv/session.ts) and
 * saves it after each answer; a file for another model or KV type is an error, not a fresh start.
 */
import type { Command } from "commander";
import { existsSync } from "node:fs";
import { createInterface } from "node:readline";
import { loadLLM } from "../engine/llm.js";
import { InputError } from "../errors.js";
import { loadBar } from "./load-bar.js";
import { resolveModelAndMmproj } from "./default-model.js";
import { addEngineOptions, engineOptions, parsePositiveInt } from "./engine-options.js";
import { collectLora, LORA_FLAG, LORA_HELP } from "./lora-options.js";
import type { SpeculativeCliOptions } from "./speculative-options.js";
import type { ContextShiftMode } from "../engine/context-shift.js";
import { addCloudOptions, routerFromOptions, type CloudOptions } from "./router-options.js";
import { describeDecision, routedSend } from "../router/chat-turn.js";
import { addToolOptions, chatToolsFromOptions, chatToolTurn, type ToolCliOptions } from "./tool-options.js";
import {
  collectImages,
  encodeImageFiles,
  IMAGE_FLAG,
  loadVision,
  MMPROJ_FLAG,
  MMPROJ_HELP,
} from "./image-options.js";

interface ChatOpts extends ToolCliOptions, CloudOptions, SpeculativeCliOptions {
  model?: string;
  system?: string;
  lora?: string[];
  maxTokens?: string;
  temp: string;
  topP: string;
  seed?: string;
  ctxSize?: string;
  kernels: string;
  threads?: string;
  maxMemory?: string;
  experts?: string;
  weights?: string;
  streamCache?: string;
  kvType?: string;
  cacheTypeK?: string;
  cacheTypeV?: string;
  kvRotate?: boolean;
  swaFull?: boolean;
  kvEvict?: string;
  kvBudget?: string;
  contextShift: string;
  session?: string;
  mmproj?: string;
  image?: string[];
}

function parseNumber(name: string, v: string, lo: number, hi: number): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < lo || n > hi)
    throw new InputError(`${name} must be a number in ${lo}..${hi}, got '${v}'`);
  return n;
}

function parseShiftMode(v: string): ContextShiftMode {
  if (v !== "rope" && v !== "reprefill")
    throw new InputError(`--context-shift must be rope or reprefill, got '${v}'`);
  return v;
}

export function register(program: Command): void {
  // --tools/--tool-choice/--max-steps: agent loop per turn (src/cli/tool-options.ts)
  addToolOptions(
    // --cloud/--cloud-model/--policy: edge + cloud routing per turn (src/router)
    addCloudOptions(
      addEngineOptions(
        program
          .command("chat")
          .description("interactive chat in the terminal (or over piped stdin)")
          .option(
            "-m, --model <file|url>",
            "GGUF model, a path or an http(s) URL (pulled into the model cache; default: the embedded models/edgellm-default-q8_0.gguf)",
          )
          .option("-s, --system <text>", "system message")
          .option(MMPROJ_FLAG, MMPROJ_HELP)
          .option(
            IMAGE_FLAG,
            "an image (PNG or JPEG) for the first message (repeatable; /image <file> adds one later)",
            collectImages,
          )
          .option(LORA_FLAG, LORA_HELP, collectLora)
          .option("-n, --max-tokens <n>", "most tokens per answer (default: the room left in the context)")
          .option("--temp <t>", "temperature", "0.7")
          .option("--top-p <p>", "nucleus sampling", "0.95")
          .option("--seed <n>", "seed for reproducible answers")
          .option("-c, --ctx-size <n>", "context size"),
      )
        .option(
          "--session <file>",
          "resume the conversation saved in this file (if it exists) and save it after each turn",
        )
        .option(
          "--context-shift <mode>",
          "when the context fills: rope (shift kept keys) or reprefill",
          "rope",
        ),
    ),
  ).action(async (o: ChatOpts) => {
    const gen = {
      maxTokens: o.maxTokens === undefined ? undefined : parsePositiveInt("--max-tokens", o.maxTokens),
      temperature: parseNumber("--temp", o.temp, 0, 100),
      topP: parseNumber("--top-p", o.topP, 0, 1),
      seed: o.seed === undefined ? undefined : Math.trunc(parseNumber("--seed", o.seed, 0, 2 ** 32 - 1)),
    };
    const chatTools = chatToolsFromOptions(o);
    const router = await routerFromOptions(o);
    const { model: path, mmproj } = await resolveModelAndMmproj(o.model, o.mmproj, o.image);
    const bar = loadBar();
    const llm = await loadLLM(path, {
      ...engineOptions(o),
      parallel: 1,
      contextShift: parseShiftMode(o.contextShift),
      onProgress: bar.onProgress,
    }).finally(bar.stop);
    const vision = mmproj
      ? await loadVision(mmproj, llm).catch(async (e: unknown) => {
          await llm.close();
          throw e;
        })
      : undefined;
    if (o.image?.length && !vision) {
      await llm.close();
      throw new InputError("--image needs --mmproj <file> (the vision encoder)");
    }
    /** Image files for the next message (--image, then /image <file>). */
    let pending: string[] = o.image ?? [];
    let session = llm.createSession(o.system);
    if (o.session && existsSync(o.session)) {
      try {
        const restored = await llm.loadSession(o.session);
        if (!restored.chat) throw new InputError(`${o.session} holds a sequence, not a chat session`);
        session = restored.chat;
        if (o.system !== undefined && o.system !== session.messages[0]?.content) {
          session.setSystem(o.system);
          process.stderr.write("(--system replaces the saved system message)\n");
        }
        process.stderr.write(
          `(session ${o.session}: ${session.messages.length} messages, KV of ${restored.restoredTokens} tokens restored)\n`,
        );
      } catch (e) {
        await llm.close();
        throw e;
      }
    }
    const tty = !!process.stdin.isTTY;
    const rl = createInterface({
      input: process.stdin,
      output: tty ? process.stdout : undefined,
      terminal: tty,
      prompt: "> ",
    });
    const lines = rl[Symbol.asyncIterator]();
    let current: AbortController | undefined;
    rl.on("SIGINT", () => {
      // Terminal only: Ctrl-C stops the answer, or leaves at the prompt.
      if (current) current.abort();
      else rl.close();
    });
    process.stderr.write(
      `${llm.name} ready (context ${llm.contextSize}). /reset, /system <text>,${vision ? " /image <file>," : ""} /exit; Ctrl-C stops an answer.\n`,
    );
    try {
      for (;;) {
        if (tty) rl.prompt();
        const next = await lines.next();
        if (next.done) break;
        const text = next.value.trim();
        if (!text) continue;
        if (text === "/exit" || text === "/quit") break;
        if (text === "/reset") {
          session.reset();
          process.stderr.write("(history cleared)\n");
          continue;
        }
        if (text === "/system" || text.startsWith("/system ")) {
          session.setSystem(text.slice(7).trim());
          session.reset();
          process.stderr.write("(system message set, history cleared)\n");
          continue;
        }
        if (text.startsWith("/image")) {
          const file = text.slice(6).trim();
          if (!vision) process.stderr.write("(/image needs --mmproj <file>)\n");
          else if (!file) process.stderr.write("(/image <file>)\n");
          else {
            pending.push(file);
            process.stderr.write(`(${file} goes with your next message)\n`);
          }
          continue;
        }
        if (text.startsWith("/")) {
          process.stderr.write(`(unknown command ${text.split(/\s/)[0]}; /reset, /system <text>, /exit)\n`);
          continue;
        }
        if (pending.length && (router || chatTools)) {
          process.stderr.write("(images are not sent with --cloud routing or tools; dropped)\n");
          pending = [];
        }
        current = new AbortController();
        if (chatTools) {
          const io = {
            text: (s: string) => void process.stdout.write(s),
            status: (s: string) => void process.stderr.write(s),
          };
          await chatToolTurn(
            llm,
            session.messages,
            text,
            chatTools,
            { ...gen, signal: current.signal },
            io,
          ).finally(() => (current = undefined));
          process.stdout.write("\n");
          continue;
        }
        const t0 = performance.now();
        let tFirst = 0;
        let n = 0;
        let cached = 0;
        let reason = "";
        try {
          const images = pending.length && vision ? await encodeImageFiles(pending, vision) : undefined;
          pending = [];
          const turn = router
            ? // the router sizes the request (and a cloud request needs a bound): 512 unless -n says
              routedSend(
                session,
                router,
                text,
                { ...gen, maxTokens: gen.maxTokens ?? 512, signal: current.signal },
                (d) => process.stderr.write(`${describeDecision(d)}\n`),
              )
            : session.send(text, { ...gen, signal: current.signal, truncateMessage: true, images });
          for await (const c of turn) {
            if (c.type === "token" && n++ === 0) tFirst = performance.now();
            if (c.type === "done") {
              cached = c.cachedTokens;
              reason = c.reason;
            }
            process.stdout.write(c.text);
          }
        } catch (e) {
          // A turn that fails (too long, a routing error...) is reported; the chat goes on.
          process.stdout.write("\n");
          process.stderr.write(`(this turn failed: ${e instanceof Error ? e.message : String(e)})\n`);
          continue;
        } finally {
          current = undefined;
        }
        process.stdout.write("\n");
        if (o.session && !session.hasImages) await session.save(o.session);
        const ctx = session.context;
        if (!router && ctx.droppedNow > 0)
          process.stderr.write(
            `(context ${llm.contextSize} full: the ${ctx.droppedNow} oldest message(s) are no longer seen by the model, ${ctx.droppedMessages} in all; the system message and your transcript are kept)\n`,
          );
        if (!router && ctx.truncatedChars > 0)
          process.stderr.write(
            `(your message was too long for the context: its first ${ctx.truncatedChars} characters were left out)\n`,
          );
        if (!router && ctx.shiftedTokens > 0)
          process.stderr.write(
            `(the answer filled the context: ${ctx.shiftedTokens} older tokens were shifted out to continue)\n`,
          );
        const t1 = performance.now();
        const tps = n > 1 ? ((n - 1) * 1000) / (t1 - tFirst) : 0;
        process.stderr.write(
          `[TTFT ${(tFirst ? tFirst - t0 : 0).toFixed(0)} ms | ${n} tok | ${tps.toFixed(1)} tok/s | prefix reused ${cached} tok${reason === "abort" ? " | stopped" : ""}]\n`,
        );
      }
    } finally {
      rl.close();
      await llm.close();
    }
  });
}
