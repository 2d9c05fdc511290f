/**
 * File tools confined to one directory the user names: read_file and list_dir. A path is
 * resolved against the root and rejected unless it stays inside it lexically (no `..` segment
 * escape, no absolute paths elsewhere; a name such as `..foo` is fine).
 *
 * Symlinks and races: checking a path and then opening it lets a writer swap a directory for a
 * symlink in between (the check sees the inside, the open follows the link outside). So the
 * object is opened FIRST (non-blocking, so a FIFO cannot hang the tool; links inside the root
 * still work), and the check is made on what was opened: the descriptor's real path
 * (/proc/self/fd/N on Linux) must lie inside the root, and on every platform the descriptor must
 * be the same file (device + inode) as the realpath of the name, which must also lie inside the
 * root. Content and listings are then read through that descriptor, never by name again.
 */
import { constants, promises as fs, realpathSync, statSync } from "node:fs";
import { isAbsolute, relative, resolve, sep } from "node:path";
import { InputError } from "../../errors.js";
import type { Tool } from "../registry.js";

const MAX_READ = 256 * 1024;
const MAX_ENTRIES = 1000;
const PROC_FD = process.platform === "linux";

function inside(root: string, p: string): boolean {
  const r = relative(root, p);
  return r === "" || (!isAbsolute(r) && r !== ".." && !r.startsWith(`..${sep}`));
}

type Opened = { fh: fs.FileHandle; st: import("node:fs").Stats; fdPath: string };

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

  /** Lexical path of `p` inside the root, or an InputError when it leaves the root. */
  private lexical(p: string): string {
    if (typeof p !== "string") throw new InputError("path must be a string");
    if (p.includes("\0")) throw new InputError("path contains a NUL byte");
    const lexical = resolve(this.root, p);
    if (!inside(this.root, lexical)) throw new InputError(`path '${p}' is outside the tool directory`);
    return lexical;
  }

  /** Opens `p` and proves the open descriptor is inside the root (see the header). Caller closes. */
  private async open(p: string, dir: boolean): Promise<Opened> {
    const lexical = this.lexical(p);
    const flags = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (dir ? (constants.O_DIRECTORY ?? 0) : 0);
    let fh: fs.FileHandle;
    try {
      fh = await fs.open(lexical, flags);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ELOOP") throw new InputError(`path '${p}' has too many levels of symlinks`);
      if (code === "ENOTDIR") throw new InputError(`'${p}' is not a directory`);
      throw new InputError(`no such file or directory: '${p}'`);
    }
    try {
      const st = await fh.stat();
      const refuse = () => new InputError(`path '${p}' leads outside the tool directory (symlink)`);
      const fdPath = PROC_FD ? `/proc/self/fd/${fh.fd}` : lexical;
      if (PROC_FD && !inside(this.root, await fs.readlink(fdPath).catch(() => "/\0"))) throw refuse();
      // Portable check: the name's realpath must be inside and be the very file we hold.
      const real = await fs.realpath(lexical).catch(() => undefined);
      if (real === undefined || !inside(this.root, real)) throw refuse();
      const again = await fs.stat(real).catch(() => undefined);
      if (!again || again.dev !== st.dev || again.ino !== st.ino) throw refuse();
      return { fh, st, fdPath };
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  /** Real path of `p` (relative to the root), or an InputError when it leaves the root. */
  async resolve(p: string): Promise<string> {
    const lexical = this.lexical(p);
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
    const { fh, st } = await this.open(p, false);
    try {
      if (!st.isFile()) throw new InputError(`'${p}' is not a file`);
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
    const { fh, st, fdPath } = await this.open(p, true);
    try {
      if (!st.isDirectory()) throw new InputError(`'${p}' is not a directory`);
      // On Linux the listing goes through the descriptor itself; elsewhere by name, re-checked after.
      const entries = await fs.readdir(fdPath, { withFileTypes: true });
      if (!PROC_FD) {
        const after = await fs.stat(fdPath).catch(() => undefined);
        if (!after || after.dev !== st.dev || after.ino !== st.ino)
          throw new InputError(`path '${p}' changed while it was listed`);
      }
      return entries
        .slice(0, MAX_ENTRIES)
        .map((e) => (e.isDirectory() ? `${e.name}/` : e.isSymbolicLink() ? `${e.name}@` : e.name))
        .sort();
    } finally {
      await fh.close();
    }
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
