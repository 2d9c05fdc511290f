/**
 * File tools confined to one directory the user names: read_file and list_dir. A path is
 * resolved against the root and rejected unless it stays inside it both lexically (no `..`
 * escape, no absolute paths elsewhere) and after following symlinks (realpath), so a link
 * pointing out of the root is refused too.
 */
import { promises as fs, realpathSync, statSync } from "node:fs";
import { isAbsolute, relative, resolve, sep } from "node:path";
import { InputError } from "../../errors.js";
import type { Tool } from "../registry.js";

const MAX_READ = 256 * 1024;
const MAX_ENTRIES = 1000;

function inside(root: string, p: string): boolean {
  const r = relative(root, p);
  return r === "" || (!r.startsWith("..") && !isAbsolute(r) && r.split(sep)[0] !== "..");
}

export class SandboxedDir {
  readonly root: string;

  constructor(root: string) {
    let real: string;
    try {
      real = realpathSync(root);
    } catch {
      throw new InputError(`tool directory does not exist: ${root}`);
    }
    if (!statSync(real).isDirectory()) throw new InputError(`tool root is not a directory: ${root}`);
    this.root = real;
  }

  /** Real path of `p` (relative to the root), or an InputError when it leaves the root. */
  async resolve(p: string): Promise<string> {
    if (typeof p !== "string") throw new InputError("path must be a string");
    if (p.includes("\0")) throw new InputError("path contains a NUL byte");
    const lexical = resolve(this.root, p);
    if (!inside(this.root, lexical)) throw new InputError(`path '${p}' is outside the tool directory`);
    let real: string;
    try {
      real = await fs.realpath(lexical);
    } catch {
      throw new InputError(`no such file or directory: '${p}'`);
    }
    if (!inside(this.root, real))
      throw new InputError(`path '${p}' leads outside the tool directory (symlink)`);
    return real;
  }

  async readFile(p: string): Promise<string> {
    const real = await this.resolve(p);
    const st = await fs.stat(real);
    if (!st.isFile()) throw new InputError(`'${p}' is not a file`);
    const fh = await fs.open(real, "r");
    try {
      const buf = Buffer.alloc(Math.min(st.size, MAX_READ));
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      const text = buf.subarray(0, bytesRead).toString("utf8");
      return st.size > MAX_READ
        ? `${text}\n[truncated: file is ${st.size} bytes, showing ${MAX_READ}]`
        : text;
    } finally {
      await fh.close();
    }
  }

  async listDir(p = "."): Promise<string[]> {
    const real = await this.resolve(p);
    const entries = await fs.readdir(real, { withFileTypes: true });
    return entries
      .slice(0, MAX_ENTRIES)
      .map((e) => (e.isDirectory() ? `${e.name}/` : e.isSymbolicLink() ? `${e.name}@` : e.name))
      .sort();
  }
}

export function fileTools(root: string): Tool[] {
  const dir = new SandboxedDir(root);
  const pathParam = {
    type: "object",
    properties: { path: { type: "string", description: "path relative to the tool directory" } },
    required: ["path"],
    additionalProperties: false,
  };
  return [
    {
      definition: {
        type: "function",
        function: {
          name: "read_file",
          description: "Read a text file from the tool directory.",
          parameters: pathParam,
        },
      },
      run: (a) => dir.readFile(String(a.path ?? "")),
    },
    {
      definition: {
        type: "function",
        function: {
          name: "list_dir",
          description: "List a directory inside the tool directory ('/' marks directories).",
          parameters: pathParam,
        },
      },
      run: async (a) => (await dir.listDir(String(a.path ?? "."))).join("\n"),
    },
  ];
}
