/**
 * MCP client: connect to Model Context Protocol servers (stdio: spawn a command; streamable
 * HTTP: a URL) with @modelcontextprotocol/sdk, list their tools and expose them as our Tools
 * (OpenAI function definitions whose parameters are the MCP input schemas). Names that are not
 * valid OpenAI function names, or that collide, become `<server>__<tool>`.
 *
 * Config (the common mcpServers shape):
 *   {"mcpServers": {"fs": {"command": "node", "args": ["server.js"], "env": {...}},
 *                   "web": {"url": "http://127.0.0.1:8080/mcp", "headers": {...}}}}
 */
import { readFile } from "node:fs/promises";
// The MCP SDK is an optional dependency, loaded on the first connection (sdk() below): nothing
// of it loads for users who never configure an MCP server, and a missing install is a typed error.
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import * as z from "zod";
import { InputError } from "../errors.js";
import { firstIssue, isObj } from "../json.js";
import type { Tool } from "./registry.js";

export type McpServerConfig =
  | { command: string; args?: string[]; env?: Record<string, string>; cwd?: string }
  | { url: string; headers?: Record<string, string> };

const NAME_OK = /^[A-Za-z0-9_.-]{1,64}$/;

const strings = (what: string) => {
  const error = `${what} must be an object of strings`;
  return z.record(z.string(), z.string({ error }), { error });
};

const STDIO = z.object({
  command: z.string(),
  args: z
    .array(z.string({ error: "args must be an array of strings" }), {
      error: "args must be an array of strings",
    })
    .optional(),
  env: strings("env").optional(),
  cwd: z.string({ error: "cwd must be a string" }).optional(),
});

const HTTP = z.object({
  url: z.string().refine(
    (u) => {
      try {
        new URL(u);
        return true;
      } catch {
        return false;
      }
    },
    { error: (iss) => `bad URL '${String(iss.input)}'` },
  ),
  headers: strings("headers").optional(),
});

const SERVER = z.unknown().transform((c, ctx): McpServerConfig => {
  const schema =
    isObj(c) && typeof c.command === "string"
      ? STDIO
      : isObj(c) && typeof c.url === "string"
        ? HTTP
        : undefined;
  if (!schema) {
    ctx.addIssue({
      code: "custom",
      message: isObj(c)
        ? "server entry needs 'command' (stdio) or 'url' (streamable HTTP)"
        : "server entry must be an object",
    });
    return z.NEVER;
  }
  const r = schema.safeParse(c);
  if (r.success) return r.data;
  for (const iss of r.error.issues) ctx.addIssue({ ...iss, path: iss.path } as z.core.$ZodRawIssue);
  return z.NEVER;
});

const SHAPE = 'MCP config must be {"mcpServers": {name: {command, args} | {url}}}';
const CONFIG = z.object(
  {
    mcpServers: z.record(z.string(), SERVER, { error: SHAPE }).superRefine((servers, ctx) => {
      for (const name of Object.keys(servers))
        if (!NAME_OK.test(name))
          ctx.addIssue({ code: "custom", path: [name], message: `bad MCP server name '${name}'` });
    }),
  },
  { error: SHAPE },
);

/** Validate an mcpServers config object (a zod schema; errors name the JSON path in `field`). */
export function parseMcpConfig(json: unknown): Record<string, McpServerConfig> {
  const r = CONFIG.safeParse(json);
  if (r.success) return r.data.mcpServers;
  const { path, message } = firstIssue(r.error);
  throw new InputError(message, { field: path || "mcpServers" });
}

export async function loadMcpConfig(path: string): Promise<Record<string, McpServerConfig>> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    throw new InputError(`cannot read MCP config: ${(e as Error).message}`, { file: path });
  }
  try {
    return parseMcpConfig(JSON.parse(text));
  } catch (e) {
    if (e instanceof InputError) throw new InputError(`${path}: ${e.message}`);
    throw new InputError(`MCP config is not JSON: ${(e as Error).message}`, { file: path });
  }
}

/** MCP tool result content -> text for the model. */
function resultText(r: { content?: unknown; structuredContent?: unknown; isError?: boolean }): string {
  const parts: string[] = [];
  for (const c of (Array.isArray(r.content) ? r.content : []) as {
    type?: string;
    text?: string;
    resource?: { text?: string; uri?: string };
  }[]) {
    if (c.type === "text" && typeof c.text === "string") parts.push(c.text);
    else if (c.type === "resource" && c.resource)
      parts.push(c.resource.text ?? `[resource ${c.resource.uri ?? ""}]`);
    else parts.push(`[${c.type ?? "unknown"} content]`);
  }
  if (parts.length === 0 && r.structuredContent !== undefined)
    parts.push(JSON.stringify(r.structuredContent));
  const text = parts.join("\n");
  return r.isError ? `error: ${text}` : text;
}

type McpSdk = {
  Client: typeof import("@modelcontextprotocol/sdk/client/index.js").Client;
  StdioClientTransport: typeof import("@modelcontextprotocol/sdk/client/stdio.js").StdioClientTransport;
  StreamableHTTPClientTransport: typeof import("@modelcontextprotocol/sdk/client/streamableHttp.js").StreamableHTTPClientTransport;
};
let sdkPromise: Promise<McpSdk> | undefined;

/** The MCP SDK's client parts, imported once on first use. */
function sdk(): Promise<McpSdk> {
  sdkPromise ??= (async () => {
    try {
      const [c, s, h] = await Promise.all([
        import("@modelcontextprotocol/sdk/client/index.js"),
        import("@modelcontextprotocol/sdk/client/stdio.js"),
        import("@modelcontextprotocol/sdk/client/streamableHttp.js"),
      ]);
      return {
        Client: c.Client,
        StdioClientTransport: s.StdioClientTransport,
        StreamableHTTPClientTransport: h.StreamableHTTPClientTransport,
      };
    } catch (e) {
      sdkPromise = undefined;
      throw new InputError(
        `MCP servers need the optional package @modelcontextprotocol/sdk, which could not be loaded (${(e as Error).message.split("\n")[0]})`,
        { hint: "npm install @modelcontextprotocol/sdk" },
      );
    }
  })();
  return sdkPromise;
}

export class McpConnection {
  private constructor(
    readonly name: string,
    private readonly client: Client,
    readonly tools: Tool[],
  ) {}

  static async connect(
    name: string,
    cfg: McpServerConfig,
    opts: { timeoutMs?: number; taken?: Set<string> } = {},
  ): Promise<McpConnection> {
    const timeout = opts.timeoutMs ?? 30_000;
    const { Client, StdioClientTransport, StreamableHTTPClientTransport } = await sdk();
    const transport: Transport =
      "command" in cfg
        ? new StdioClientTransport({
            command: cfg.command,
            args: cfg.args ?? [],
            env: cfg.env,
            cwd: cfg.cwd,
            stderr: "pipe",
          })
        : new StreamableHTTPClientTransport(new URL(cfg.url), { requestInit: { headers: cfg.headers } });
    const client = new Client({ name: "edgellm", version: "0.1.0" });
    try {
      await client.connect(transport, { timeout });
    } catch (e) {
      await client.close().catch(() => {});
      throw new InputError(`cannot connect to MCP server '${name}': ${(e as Error).message}`, {
        field: `mcpServers.${name}`,
      });
    }
    const taken = opts.taken ?? new Set<string>();
    const tools: Tool[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor ? { cursor } : undefined, { timeout });
      for (const t of page.tools) {
        let exposed = t.name;
        if (!NAME_OK.test(exposed) || taken.has(exposed))
          exposed = `${name}__${t.name}`.replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 64);
        if (taken.has(exposed))
          throw new InputError(`MCP tool name '${exposed}' is ambiguous`, { field: `mcpServers.${name}` });
        taken.add(exposed);
        const remote = t.name;
        tools.push({
          definition: {
            type: "function",
            function: {
              name: exposed,
              description: t.description ?? t.title ?? `${remote} (MCP server ${name})`,
              parameters: (t.inputSchema as Record<string, unknown>) ?? { type: "object" },
            },
          },
          run: async (args, signal) =>
            resultText(
              (await client.callTool({ name: remote, arguments: args }, undefined, {
                timeout,
                signal,
              })) as Parameters<typeof resultText>[0],
            ),
        });
      }
      cursor = page.nextCursor;
    } while (cursor);
    return new McpConnection(name, client, tools);
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

/** Connect to every server in a config; on any failure, close the ones already open. */
export async function connectMcpServers(
  servers: Record<string, McpServerConfig>,
  opts: { timeoutMs?: number } = {},
): Promise<{ connections: McpConnection[]; tools: Tool[]; close(): Promise<void> }> {
  const connections: McpConnection[] = [];
  const taken = new Set<string>();
  try {
    for (const [name, cfg] of Object.entries(servers))
      connections.push(await McpConnection.connect(name, cfg, { ...opts, taken }));
  } catch (e) {
    await Promise.all(connections.map((c) => c.close().catch(() => {})));
    throw e;
  }
  return {
    connections,
    tools: connections.flatMap((c) => c.tools),
    close: async () => {
      await Promise.all(connections.map((c) => c.close().catch(() => {})));
    },
  };
}
