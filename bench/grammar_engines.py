"""Grammar engines for constrained decoding: llguidance vs xgrammar vs outlines-core.

For two tokenizers — the built-in tiny model's (2,048 ids) and a byte-level BPE with a
realistic vocabulary (~131k ids) trained here on the text of the installed Python packages
(no download) — and three JSON schemas (a flat object, a nested order with an array and
enums, and a tool call choosing among three tools, the shape ``tool_choice="required"``
compiles to), each engine is measured in its own fresh process:

* **tokenizer setup**: adapting the tokenizer (once per model);
* **compile**: schema → grammar ready to match, fresh each time (median of 3; caches off);
* **mask**: mean time to compute the allowed-token bitmask at each step while walking a valid
  instance token by token (the per-token cost on the decoding critical path), plus the
  first mask (xgrammar and outlines-core do work lazily there);
* **memory**: the process's resident-memory growth over setup, compiles and matching (the
  compiled grammars are kept alive until it is read);
* **ok**: the engine accepted the instance and ended in an accepting state (a correctness
  check: the figures of an engine that rejects valid JSON would mean nothing).

JSON layout: ``", "`` and ``": "`` separators and no other whitespace, except for
outlines-core, whose JSON-schema regex cannot place a space after separators without allowing
spaces everywhere: it gets the compact layout (``","`` and ``":"``) and a compact instance.
"""

from __future__ import annotations

import json
import multiprocessing
import resource
import statistics
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from bench._common import Options, bench_main, console, print_table

NAME = "grammar_engines"
DESCRIPTION = "llguidance vs xgrammar vs outlines-core: compile, per-token mask, memory"

ENGINES = ("llguidance", "xgrammar", "outlines-core")

PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "age": {"type": "integer"},
        "email": {"type": "string"},
        "active": {"type": "boolean"},
    },
    "required": ["name", "age", "email", "active"],
    "additionalProperties": False,
}
ORDER = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "customer": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "tier": {"enum": ["free", "pro", "team"]},
            },
            "required": ["name", "tier"],
            "additionalProperties": False,
        },
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "sku": {"type": "string"},
                    "qty": {"type": "integer"},
                    "price": {"type": "number"},
                },
                "required": ["sku", "qty", "price"],
                "additionalProperties": False,
            },
        },
        "status": {"enum": ["open", "paid", "shipped"]},
    },
    "required": ["id", "customer", "items", "status"],
    "additionalProperties": False,
}


def _tool(name: str, properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "name": {"const": name},
            "arguments": {
                "type": "object",
                "properties": properties,
                "required": sorted(properties),
                "additionalProperties": False,
            },
        },
        "required": ["name", "arguments"],
        "additionalProperties": False,
    }


TOOL_CALL = {
    "anyOf": [
        _tool("search", {"query": {"type": "string"}, "limit": {"type": "integer"}}),
        _tool("add", {"a": {"type": "number"}, "b": {"type": "number"}}),
        _tool("send_email", {"to": {"type": "string"}, "subject": {"type": "string"}}),
    ]
}
CASES: dict[str, tuple[dict[str, Any], Any]] = {
    "flat": (
        PERSON,
        {"name": "Ada Lovelace", "age": 36, "email": "ada@example.org", "active": True},
    ),
    "nested": (
        ORDER,
        {
            "id": "ord-1042",
            "customer": {"name": "Grace Hopper", "tier": "pro"},
            "items": [
                {"sku": "tea-01", "qty": 2, "price": 3.5},
                {"sku": "cake-07", "qty": 1, "price": 12.25},
            ],
            "status": "paid",
        },
    ),
    "tool_call": (
        TOOL_CALL,
        {"name": "search", "arguments": {"query": "structured decoding", "limit": 5}},
    ),
}
SEPARATORS = (", ", ": ")


def run(options: Options) -> dict[str, Any]:
    """Build the tokenizers, then measure every engine on each in a fresh process."""
    tokenizers = _build_tokenizers(options)
    results: dict[str, dict[str, Any]] = {}
    context = multiprocessing.get_context("spawn")
    repeats = 1 if options.quick else 3
    for label, path in tokenizers.items():
        for engine in ENGINES:
            with context.Pool(1) as pool:
                row = pool.apply(_measure, (engine, str(path), repeats))
            results[f"{label}/{engine}"] = row
            console.print(f"  {label:9} {engine:13} {_summary(row)}")
    _print(results)
    return {
        "tokenizers": {k: _vocab(v) for k, v in tokenizers.items()},
        "separators": list(SEPARATORS),
        "results": results,
        "versions": _versions(),
    }


def _summary(row: dict[str, Any]) -> str:
    if "error" in row:
        return f"error: {row['error']}"
    return f"compile {row['compile_ms']} ms, mask {row['mask_us']} µs, ok {row['ok']}"


def _print(results: dict[str, dict[str, Any]]) -> None:
    rows = []
    for key, row in results.items():
        if "error" in row:
            rows.append([key, None, None, None, None, None, row["error"]])
            continue
        rows.append(
            [
                key,
                row["setup_s"],
                max(row["compile_ms"].values()),
                statistics.mean(row["mask_us"].values()),
                max(row["first_mask_us"].values()),
                row["rss_mb"],
                all(row["ok"].values()),
            ]
        )
    print_table(
        "grammar engines (per tokenizer; compile = slowest schema, mask = mean over schemas)",
        ["tokenizer/engine", "setup s", "compile ms", "mask µs", "first mask µs", "RSS MB", "ok"],
        rows,
    )


def _versions() -> dict[str, str | None]:
    from importlib import metadata

    out: dict[str, str | None] = {}
    for package in ("llguidance", "xgrammar", "outlines-core", "tokenizers"):
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            out[package] = None
    return out


def _vocab(path: Path) -> int:
    from transformers import PreTrainedTokenizerFast

    return len(PreTrainedTokenizerFast.from_pretrained(path))


# --- tokenizers ---------------------------------------------------------------------------


def _build_tokenizers(options: Options) -> dict[str, Path]:
    from hone.models._tiny_corpus import default_corpus
    from hone.models.tiny import TinyConfig, train_tokenizer

    out: dict[str, Path] = {}
    tiny = train_tokenizer(default_corpus(seed=0), vocab_size=TinyConfig().vocab_size)
    out["tiny"] = options.workdir / "tok-tiny"
    tiny.save_pretrained(out["tiny"])
    size, text = (4_096, 2_000_000) if options.quick else (131_072, 60_000_000)
    started = time.perf_counter()
    large = train_tokenizer(_package_text(text), vocab_size=size)
    label = f"bpe-{round(len(large) / 1000)}k"
    out[label] = options.workdir / f"tok-{label}"
    large.save_pretrained(out[label])
    console.print(
        f"  trained a {len(large):,}-id BPE on the installed packages' text "
        f"in {time.perf_counter() - started:.0f} s"
    )
    return out


def _package_text(limit: int) -> Iterator[str]:
    """Source and docs of the installed Python packages, in a stable order, up to ``limit``."""
    root = Path(sys.prefix) / "lib"
    files = sorted(p for p in root.rglob("*") if p.suffix in (".py", ".md", ".rst", ".txt"))
    total = 0
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        total += len(text)
        yield text
        if total >= limit:
            return


# --- one engine, in its own process -------------------------------------------------------


def _measure(engine: str, path: str, repeats: int) -> dict[str, Any]:
    """Set up ``engine`` for the tokenizer at ``path`` and measure every case."""
    import torch  # every engine's masks are torch tensors here: not counted against one
    from transformers import PreTrainedTokenizerFast

    tokenizer = PreTrainedTokenizerFast.from_pretrained(path)
    vocab = len(tokenizer)
    adapter = _ADAPTERS[engine](tokenizer, vocab)
    try:
        adapter.load()  # imports: not counted either
    except ImportError as exc:
        return {"error": f"not installed ({exc.name})"}
    base_rss = _rss_mb()
    torch.set_num_threads(1)
    started = time.perf_counter()
    adapter.setup()
    kept: list[Any] = []
    row: dict[str, Any] = {
        "setup_s": round(time.perf_counter() - started, 3),
        "compile_ms": {},
        "mask_us": {},
        "first_mask_us": {},
        "ok": {},
    }
    for case, (schema, instance) in CASES.items():
        text = json.dumps(instance, separators=adapter.separators)
        ids = tokenizer.encode(text, add_special_tokens=False)
        compile_times = []
        kept.append(compiled := adapter.compile(schema))  # warm, and kept for the RSS figure
        for _ in range(repeats):
            started = time.perf_counter()
            compiled = adapter.compile(schema)
            compile_times.append(time.perf_counter() - started)
        row["compile_ms"][case] = round(statistics.median(compile_times) * 1e3, 2)
        masks: list[float] = []
        ok = True
        for _ in range(repeats):
            walk_ok, times = adapter.walk(compiled, ids)
            ok = ok and walk_ok
            masks.append(statistics.mean(times[1:]) if len(times) > 1 else times[0])
            row["first_mask_us"][case] = round(times[0] * 1e6, 1)
        row["mask_us"][case] = round(statistics.median(masks) * 1e6, 1)
        row["ok"][case] = ok
    row["rss_mb"] = round(_rss_mb() - base_rss, 1)
    return row


def _rss_mb() -> float:
    """The process's resident memory now (Linux), or its peak elsewhere."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024  # KiB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class _Adapter:
    separators: tuple[str, str] = SEPARATORS

    def __init__(self, tokenizer: Any, vocab: int) -> None:
        self.tokenizer, self.vocab = tokenizer, vocab

    def load(self) -> None:
        """Import the engine."""
        raise NotImplementedError

    def setup(self) -> None:
        raise NotImplementedError

    def compile(self, schema: dict[str, Any]) -> Any:
        raise NotImplementedError

    def walk(self, compiled: Any, ids: Sequence[int]) -> tuple[bool, list[float]]:
        """Mask, then take the next token, for every token; then the end must be allowed."""
        raise NotImplementedError


class _LLGuidance(_Adapter):
    def load(self) -> None:
        import llguidance.hf

        self._lib, self._hf = llguidance, llguidance.hf

    def setup(self) -> None:
        self._tok = self._hf.from_tokenizer(
            self.tokenizer, n_vocab=self.vocab, eos_token=[self.tokenizer.eos_token_id]
        )

    def compile(self, schema: dict[str, Any]) -> Any:
        options = {"whitespace_flexible": False, "item_separator": ", ", "key_separator": ": "}
        grammar = self._lib.LLMatcher.grammar_from_json_schema(schema, overrides=options)
        matcher = self._lib.LLMatcher(self._tok, grammar, log_level=0)
        if matcher.is_error():
            raise ValueError(matcher.get_error())
        return matcher

    def walk(self, compiled: Any, ids: Sequence[int]) -> tuple[bool, list[float]]:
        import torch

        matcher = compiled.deep_copy()
        bitmask = torch.full((1, (self.vocab + 31) // 32), -1, dtype=torch.int32)
        size = bitmask.numel() * 4
        times, ok = [], True
        for token in ids:
            started = time.perf_counter()
            matcher.unsafe_compute_mask_ptr(bitmask.data_ptr(), size)
            times.append(time.perf_counter() - started)
            ok = ok and _allowed(bitmask[0], token) and matcher.consume_token(token)
        return ok and matcher.is_accepting(), times


class _XGrammar(_Adapter):
    def load(self) -> None:
        import xgrammar

        self._lib = xgrammar

    def setup(self) -> None:
        info = self._lib.TokenizerInfo.from_huggingface(
            self.tokenizer, vocab_size=self.vocab, stop_token_ids=[self.tokenizer.eos_token_id]
        )
        self._info = info

    def compile(self, schema: dict[str, Any]) -> Any:
        compiler = self._lib.GrammarCompiler(self._info, cache_enabled=False)
        return compiler.compile_json_schema(
            json.dumps(schema), any_whitespace=False, separators=SEPARATORS
        )

    def walk(self, compiled: Any, ids: Sequence[int]) -> tuple[bool, list[float]]:
        matcher = self._lib.GrammarMatcher(compiled)
        bitmask = self._lib.allocate_token_bitmask(1, self.vocab)
        times, ok = [], True
        for token in ids:
            started = time.perf_counter()
            matcher.fill_next_token_bitmask(bitmask, 0)
            times.append(time.perf_counter() - started)
            ok = ok and _allowed(bitmask[0], token) and matcher.accept_token(token)
        return ok and matcher.accept_token(self.tokenizer.eos_token_id), times


class _OutlinesCore(_Adapter):
    separators = (",", ":")

    def load(self) -> None:
        import outlines_core

        self._lib = outlines_core

    def setup(self) -> None:
        decoder = _byte_decoder()
        eos = self.tokenizer.eos_token_id
        tokens: dict[bytes, list[int]] = {}
        special = set(self.tokenizer.all_special_ids)
        for token, token_id in self.tokenizer.get_vocab().items():
            if token_id in special:
                continue
            raw = (
                bytes(decoder[c] for c in token)
                if all(c in decoder for c in token)
                else token.encode()
            )
            tokens.setdefault(raw, []).append(token_id)
        self._vocabulary = self._lib.Vocabulary(eos, tokens)

    def compile(self, schema: dict[str, Any]) -> Any:
        regex = self._lib.json_schema.build_regex_from_schema(
            json.dumps(schema), whitespace_pattern=""
        )
        return self._lib.Index(regex, self._vocabulary)

    def walk(self, compiled: Any, ids: Sequence[int]) -> tuple[bool, list[float]]:
        import torch

        guide = self._lib.Guide(compiled)
        mask = torch.zeros((self.vocab + 31) // 32, dtype=torch.int32)
        times, ok = [], True
        for token in ids:
            started = time.perf_counter()
            guide.write_mask_into(mask.data_ptr(), mask.numel(), 4)
            times.append(time.perf_counter() - started)
            ok = ok and _allowed(mask, token)
            if not ok:
                break
            guide.advance(token, return_tokens=False)
        return ok and guide.is_finished(), times


_ADAPTERS: dict[str, type[_Adapter]] = {
    "llguidance": _LLGuidance,
    "xgrammar": _XGrammar,
    "outlines-core": _OutlinesCore,
}


def _allowed(row: Any, token: int) -> bool:
    return bool((int(row[token // 32]) >> (token % 32)) & 1)


def _byte_decoder() -> dict[str, int]:
    """Byte-level BPE's printable stand-in character for each byte, inverted."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1)]
    printable += list(range(ord("®"), ord("ÿ") + 1))
    chars, extra = {}, 0
    for byte in range(256):
        if byte in printable:
            chars[chr(byte)] = byte
        else:
            chars[chr(256 + extra)] = byte
            extra += 1
    return chars


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """``python -m bench grammar_engines [--quick]``."""
    return bench_main(NAME, DESCRIPTION, run, argv)


if __name__ == "__main__":
    main()
