/**
 * The routing flags shared by `edgellm serve` and `edgellm chat`:
 *   --cloud <url>            OpenAI-compatible base URL (vLLM: http://host:8000/v1)
 *   --cloud-model <name>     model name the cloud serves
 *   --cloud-key-env <var>    environment variable holding the cloud API key (default EDGELLM_CLOUD_API_KEY)
 *   --policy <file>          routing policy JSON (default: built-in defaults)
 * Validated here so both commands fail the same way (InputError/PolicyError before loading a model).
 */
import type { Command } from "commander";
import type { Registry } from "prom-client";
import { InputError } from "../errors.js";
import { normalizeBaseUrl } from "../router/cloud-client.js";
import { DEFAULT_POLICY, loadPolicy } from "../router/policy.js";
import { createRouter, type Router } from "../router/router.js";

export interface CloudOptions {
  cloud?: string;
  cloudModel?: string;
  cloudKeyEnv: string;
  policy?: string;
}

export function addCloudOptions(cmd: Command): Command {
  return cmd
    .option(
      "--cloud <url>",
      "route what the local model cannot serve to this OpenAI-compatible endpoint (e.g. vLLM http://host:8000/v1)",
    )
    .option("--cloud-model <name>", "model name on the cloud endpoint (required with --cloud)")
    .option("--cloud-key-env <var>", "environment variable with the cloud API key", "EDGELLM_CLOUD_API_KEY")
    .option("--policy <file>", "routing policy JSON (see examples/policy.json)");
}

/** Router for the flags, or undefined when neither --cloud nor --policy is given. */
export async function routerFromOptions(
  o: CloudOptions,
  registry?: Registry,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Router | undefined> {
  if (o.cloud === undefined && o.policy === undefined) {
    if (o.cloudModel !== undefined)
      throw new InputError("--cloud-model needs --cloud <url>", { field: "--cloud-model" });
    return undefined;
  }
  if (o.cloud !== undefined && !o.cloudModel)
    throw new InputError("--cloud needs --cloud-model <name> (the model the cloud serves)", {
      field: "--cloud-model",
      hint: "vLLM: the model given to `vllm serve` or its --served-model-name",
    });
  if (o.cloud === undefined && o.cloudModel !== undefined)
    throw new InputError("--cloud-model needs --cloud <url>", { field: "--cloud-model" });
  if (o.cloud !== undefined) normalizeBaseUrl(o.cloud); // fail on a bad URL before loading anything
  const policy = o.policy === undefined ? DEFAULT_POLICY : await loadPolicy(o.policy);
  const apiKey = env[o.cloudKeyEnv] || undefined;
  return createRouter(
    policy,
    o.cloud === undefined ? undefined : { url: o.cloud, model: o.cloudModel!, apiKey },
    registry,
  );
}
