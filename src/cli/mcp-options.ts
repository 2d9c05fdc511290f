/** `edgellm serve --mcp <config.json>`: the option and its config, read before the model loads. */
import type { Command } from "commander";
import { loadMcpConfig, type McpServerConfig } from "../tools/mcp.js";

export interface McpCliOptions {
  mcp?: string;
}

/** `edgellm serve --mcp <config.json>` ({"mcpServers": {name: {command, args} | {url}}}). */
export function addMcpOption(cmd: Command): Command {
  return cmd.option(
    "--mcp <config>",
    "MCP servers config (JSON, mcpServers); their tools are offered to requests without tools, and the server runs the calls",
  );
}

/** Read and validate the config before the model loads (a bad file exits before the slow part). */
export async function mcpConfigFromOptions(
  o: McpCliOptions,
): Promise<Record<string, McpServerConfig> | undefined> {
  return o.mcp === undefined ? undefined : loadMcpConfig(o.mcp);
}
