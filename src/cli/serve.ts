/**
 * `edgellm serve -m <file> [--port 8080] [--host 127.0.0.1] [--api-key K] [--parallel N]
 *  [--cloud URL --cloud-model NAME] [--policy FILE]`:
 * the OpenAI-compatible server. SIGTERM/SIGINT stop accepting requests, let running ones finish
 * for up to --drain-timeout ms, close every connection still open, then exit. --request-timeout
 * bounds how long a client may take to send headers and body (408 after it).
 */
import type { Command } from "commander";
import { loadLLM } from "../engine/llm.js";
import { loadVision, MMPROJ_FLAG, MMPROJ_HELP } from "./image-options.js";
import { InputError } from "../errors.js";
import { buildServer } from "../server/app.js";
import { collectLora, LORA_FLAG, LORA_HELP, type LoraCliOptions } from "./lora-options.js";
import { registerWebUI } from "../server/web-ui.js";
import { addCloudOptions, routerFromOptions, type CloudOptions } from "./router-options.js";
import { installRouter } from "../server/routing/install.js";
import { loadBar } from "./load-bar.js";
import { resolveModel } from "./default-model.js";
import { addEngineOptions, engineOptions, parsePositiveInt } from "./engine-options.js";
import { attachMcp } from "../server/mcp.js";
import { addMcpOption, mcpConfigFromOptions, type McpCliOptions } from "./mcp-options.js";

export function register(program: Command): void {
  const cmd = addEngineOptions(
    program
      .command("serve")
      .description("serve the model over an OpenAI-compatible HTTP API")
      .option(
        "-m, --model <file|url>",
        "GGUF model, a path or an http(s) URL (pulled into the model cache; default: the embedded models/edgellm-default-q8_0.gguf)",
      )
      .option("--port <n>", "port (0 = any free port)", "8080")
      .option("--host <addr>", "address to listen on", "127.0.0.1")
      .option("--api-key <key>", "require 'Authorization: Bearer <key>' (default: $EDGELLM_API_KEY)")
      .option("--parallel <n>", "sequences decoded together", "4")
      .option("-c, --ctx-size <n>", "context size per sequence")
      .option("--max-queue <n>", "requests allowed to wait for a free slot before 429 (0 = none)", "64")
      .option(
        "--kv-blocks <n>",
        "KV blocks of 16 positions in the shared pool (default: parallel full contexts)",
      ),
  )
    .option("--model-id <id>", "model id clients use (default: general.name)")
    .option(MMPROJ_FLAG, MMPROJ_HELP)
    .option(LORA_FLAG, LORA_HELP, collectLora)
    .option(
      "--lora-dir <folder>",
      "folder POST /lora-adapters may load adapter files from (default: loading over HTTP off)",
    )
    .option(
      "--request-timeout <ms>",
      "a client must send its headers and body within this (else 408)",
      "30000",
    )
    .option("--keep-alive-timeout <ms>", "idle keep-alive connections close after this", "72000")
    .option(
      "--drain-timeout <ms>",
      "on SIGTERM/SIGINT, running requests get this long before connections are closed",
      "10000",
    );
  addMcpOption(addCloudOptions(cmd)) // edge + cloud routing (src/router); --mcp tools (src/server/mcp.ts)
    .action(
      async (
        o: McpCliOptions & {
          model?: string;
          port: string;
          host: string;
          apiKey?: string;
          parallel: string;
          ctxSize?: string;
          kvBlocks?: string;
          kvType?: string;
          draft?: string;
          draftMax?: string;
          lookup?: boolean;
          draftLayers?: string;
          draftPMin?: string;
          cacheTypeK?: string;
          cacheTypeV?: string;
          kvRotate?: boolean;
          swaFull?: boolean;
          kvEvict?: string;
          kvBudget?: string;
          maxQueue: string;
          kernels: string;
          threads?: string;
          maxMemory?: string;
          experts?: string;
          weights?: string;
          streamCache?: string;
          modelId?: string;
          requestTimeout: string;
          keepAliveTimeout: string;
          drainTimeout: string;
          loraDir?: string;
          mmproj?: string;
        } & CloudOptions &
          LoraCliOptions,
      ) => {
        const requestTimeout = parsePositiveInt("--request-timeout", o.requestTimeout);
        const keepAliveTimeout = parsePositiveInt("--keep-alive-timeout", o.keepAliveTimeout);
        const drainGraceMs = parsePositiveInt("--drain-timeout", o.drainTimeout);
        const port = Number(o.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535)
          throw new InputError(`--port must be 0..65535, got '${o.port}'`);
        const router = await routerFromOptions(o);
        const mcpConfig = await mcpConfigFromOptions(o);
        const maxQueue = Number(o.maxQueue);
        if (!Number.isInteger(maxQueue) || maxQueue < 0)
          throw new InputError(`--max-queue must be a non-negative integer, got '${o.maxQueue}'`);
        const path = await resolveModel(o.model);
        const bar = loadBar();
        const llm = await loadLLM(path, {
          ...engineOptions(o),
          parallel: parsePositiveInt("--parallel", o.parallel),
          kvBlocks: o.kvBlocks === undefined ? undefined : parsePositiveInt("--kv-blocks", o.kvBlocks),
          onProgress: bar.onProgress,
        }).finally(bar.stop);
        const vision = o.mmproj
          ? await loadVision(o.mmproj, llm).catch(async (e: unknown) => {
              await llm.close();
              throw e;
            })
          : undefined;
        const server = buildServer(llm, {
          vision,
          apiKey: o.apiKey ?? process.env.EDGELLM_API_KEY,
          modelId: o.modelId,
          maxQueue,
          requestTimeout,
          keepAliveTimeout,
          drainGraceMs,
          loraDir: o.loraDir,
        });
        if (router) installRouter(server, router);
        const page = registerWebUI(server.app); // the chat page at / (public; src/server/web-ui.ts)
        // A failed MCP connection stops the kernel threads so the process can exit 1.
        const mcp = mcpConfig
          ? await attachMcp(server, mcpConfig).catch(async (e: unknown) => {
              await llm.close();
              throw e;
            })
          : undefined;
        const addr = await server.app.listen({ port, host: o.host });
        const id = server.ctx.models[0];
        process.stdout.write(
          `edgellm serve: model '${id}' on ${addr}/v1 (parallel ${o.parallel}, queue ${maxQueue}, context ${llm.contextSize})\n`,
        );
        if (vision)
          process.stdout.write(
            `edgellm serve: image input on (${o.mmproj}: ${vision.tokensPerImage} tokens per image)\n`,
          );
        if (page.length > 0) process.stdout.write(`edgellm serve: chat page at ${addr}/\n`);
        if (mcp)
          process.stdout.write(
            `edgellm serve: MCP tools offered to requests without tools: ${mcp.tools.join(", ") || "(none)"}\n`,
          );
        if (router?.cloud)
          process.stdout.write(
            `edgellm serve: routing to cloud model '${router.cloud.model}' at ${router.cloud.url}\n`,
          );
        await new Promise<void>((resolve) => {
          const stop = (sig: string) => {
            process.stderr.write(`edgellm serve: ${sig}, draining...\n`);
            server
              .drain()
              .then(() => mcp?.close())
              .then(() => llm.close())
              .finally(resolve);
          };
          process.once("SIGTERM", () => stop("SIGTERM"));
          process.once("SIGINT", () => stop("SIGINT"));
        });
      },
    );
}
