#!/usr/bin/env node
/**
 * The edgellm command line. Each command lives in its own file and registers itself here.
 * Typed errors become a message on stderr and a non-zero exit; nothing else calls process.exit.
 */
import { Command, CommanderError } from "commander";
import { EdgeLLMError } from "../errors.js";
import { relaunchWithRelaxedSimd } from "./relaunch.js";

export async function main(argv: string[]): Promise<number> {
  // loaded here so that a process that only relaunches itself (relaunch.ts) stays light
  const { COMMANDS } = await import("./commands.js");
  const program = new Command();
  program
    .name("edgellm")
    .description("Edge-first LLM runtime: GGUF models on WebAssembly SIMD kernels")
    .version("0.1.0")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  for (const register of COMMANDS) register(program);
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    if (e instanceof EdgeLLMError) {
      process.stderr.write(`edgellm: ${e.name}: ${e.message}\n`);
      return 1;
    }
    process.stderr.write(`edgellm: internal error: ${(e as Error)?.stack ?? String(e)}\n`);
    return 70;
  }
}

// Node 20: run again with relaxed SIMD enabled (see relaunch.ts); otherwise run here.
relaunchWithRelaxedSimd().then(async (relaunched) => {
  if (!relaunched) process.exitCode = await main(process.argv);
});
