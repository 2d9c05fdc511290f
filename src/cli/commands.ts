import type { Command } from "commander";
import { register as inspect } from "./inspect.js";
import { register as quantize } from "./quantize.js";
import { register as testmodel } from "./testmodel.js";
import { register as logits } from "./logits.js";
import { register as run } from "./run.js";
import { register as serve } from "./serve.js";
import { register as web } from "./web.js";
import { register as chat } from "./chat.js";
import { register as bench } from "./bench.js";
import { register as data } from "./data.js";
import { register as tokenize } from "./tokenize.js";
import { register as train } from "./train.js";
import { register as evalCmd } from "./eval.js";
import { register as lora } from "./lora.js";
import { register as pull } from "./pull.js";

/** A CLI command registers its subcommand (name, options, action) on the program. */
export type RegisterCommand = (program: Command) => void;

/** Every command, in the order `edgellm --help` lists them. */
export const COMMANDS: RegisterCommand[] = [
  inspect,
  quantize,
  testmodel,
  logits,
  run,
  data,
  tokenize,
  train,
  serve,
  web,
  chat,
  bench,
  evalCmd,
  lora,
  pull,
];
