"""Typed, safe-by-default encoding of channel values, pending writes and checkpoint metadata.

Every stored value is UTF-8 JSON behind a one-byte marker:

* ``J`` — plain JSON: ``str``, ``int``, ``float``, ``bool``, ``None``, lists, and dicts with
  string keys, none of them ``"__hone__"`` (exact types: no subclasses). Encoding is one type
  check of the tree and one C ``json`` encoding; decoding is a single JSON parse. This is
  the fast path for most state.
* ``T`` — tagged JSON: values JSON cannot carry exactly are written as
  ``{"__hone__": <tag>, ...}`` objects (tuples, sets, bytes, datetimes, enums, dataclasses,
  pydantic models, hone messages, LangChain messages, dicts with non-string keys or a
  ``"__hone__"`` key).

The key ``"__hone__"`` is reserved for tags, so a user dict that has it (at any depth) is
*escaped*: it is written as a tagged ``{"__hone__": "dict", "v": [[key, value], ...]}`` pair
list, and the value takes the ``T`` path. Every dict therefore round-trips exactly, and a
``J`` payload never contains a tag (it is decoded without looking for one).

Decoding never imports a module named by the data. A pydantic model, dataclass or enum is
rebuilt only from a class registered with ``Serializer(types=...)`` or one whose module is
already imported — so a tampered database cannot make hone run arbitrary code. LangChain
messages are rebuilt field by field (each field encoded as above, so ``additional_kwargs``,
tool calls and artifacts come back exactly); for them ``langchain_core.messages`` itself is
imported when needed. Pickle is off unless
``allow_pickle=True`` is passed, on both the writing and the reading side.

``Serializer(cipher=...)`` encrypts what it writes (see :mod:`hone.checkpoint._cipher`): an
encrypted value is ``E``, a byte with the length of the cipher's name, the name, and the
ciphertext of the ``J`` or ``T`` bytes above. Unencrypted values stay readable by a serializer
with a cipher (a database that turns encryption on keeps its older rows); an encrypted one
without the cipher is an error, never garbage.

``Serializer(fallback=...)`` hands values no encoding here covers (and instances of classes
defined inside functions, which cannot be found again by name) to another serializer with
LangGraph's ``dumps_typed``/``loads_typed`` methods, before pickle is considered; the
LangGraph adapter (:mod:`hone.checkpoint.langgraph`) uses LangGraph's own serializer so.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import enum
import importlib
import os
import pickle
import sys
import uuid
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from pydantic import BaseModel, TypeAdapter, ValidationError

from hone import messages as _messages
from hone.checkpoint._cipher import Cipher
from hone.checkpoint._json import SCALAR_TYPES, TAG, is_plain_json, parse_json, to_json
from hone.checkpoint._rows import concat_lists
from hone.errors import CheckpointCorruptError, CheckpointError
from hone.interop._messages import is_langchain_message

__all__ = ["Serializer", "TypedSerializer", "as_serializer"]

_PLAIN = b"J"
TAGGED = b"T"
_SEALED = b"E"
_MESSAGE_TYPES = (
    _messages.SystemMessage,
    _messages.UserMessage,
    _messages.AssistantMessage,
    _messages.ToolMessage,
)
_MESSAGE_ADAPTER: TypeAdapter[Any] = TypeAdapter(_messages.AnyMessage)
_MESSAGES_ADAPTER: TypeAdapter[list[Any]] = TypeAdapter(list[_messages.AnyMessage])
#: Plain hone messages validated per pydantic call (their parse trees live until it).
_MESSAGE_BATCH = 256


def _plain_message(tree: Any) -> bool:
    """Whether an encoded item is a hone message without extras (see ``_decode_message``)."""
    return type(tree) is dict and tree.get(TAG) == "msg" and "x" not in tree


class TypedSerializer(Protocol):
    """LangGraph's serializer protocol: a value to (type name, bytes) and back."""

    def dumps_typed(self, obj: Any, /) -> tuple[str, bytes]:
        """Encode a value."""
        ...

    def loads_typed(self, data: tuple[str, bytes], /) -> Any:
        """Decode what :meth:`dumps_typed` wrote."""
        ...


def _class_path(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


class Serializer:
    """Encodes values to bytes and back, exactly and safely.

    Args:
        allow_pickle: pickle values no other encoding covers (and unpickle them on read).
            Only for databases you trust: unpickling runs code named by the data.
        types: classes (pydantic models, dataclasses, enums) that may be rebuilt even when
            their module is not imported yet at load time.
        fallback: a serializer with LangGraph's ``dumps_typed``/``loads_typed`` methods
            (e.g. LangGraph's ``JsonPlusSerializer``) for values no encoding above covers,
            tried before pickle; what it writes is read back only by a ``Serializer`` with a
            fallback. It decodes by its own rules (LangGraph's may import the modules the
            data names), so use it for databases you trust.
        cipher: encrypts every value written and decrypts on read (a :class:`Cipher`:
            :class:`~hone.checkpoint.AesGcmCipher`, or any LangGraph ``CipherProtocol``).
    """

    def __init__(
        self,
        *,
        allow_pickle: bool = False,
        types: Iterable[type] = (),
        fallback: TypedSerializer | None = None,
        cipher: Cipher | None = None,
    ) -> None:
        self.allow_pickle = allow_pickle
        self.fallback = fallback
        self.cipher = cipher
        self._types: dict[str, type] = {_class_path(t): t for t in types}
        self._langchain_classes: dict[str, type] = {}

    @classmethod
    def from_env(cls, var: str = "HONE_AES_KEY") -> Serializer:
        """A safe serializer that encrypts with the key in the environment variable ``var``
        when it is set (see :meth:`AesGcmCipher.from_env <hone.checkpoint.AesGcmCipher.from_env>`),
        else a plain one: what ``hone server`` and ``hone view`` use.

        Raises:
            ConfigError: ``var`` is set to something that is not a key.
        """
        if not os.environ.get(var):
            return cls()
        from hone.checkpoint._cipher import AesGcmCipher

        return cls(cipher=AesGcmCipher.from_env(var))

    def __repr__(self) -> str:
        sealed = "" if self.cipher is None else f", cipher={self.cipher!r}"
        return f"Serializer(allow_pickle={self.allow_pickle}{sealed})"

    # -- encoding -----------------------------------------------------------------------

    def dumps(self, value: Any) -> bytes:
        """Encode a value.

        Raises:
            CheckpointError: the value has a type with no safe encoding and pickle is off.
        """
        try:
            if is_plain_json(value):
                data = _PLAIN + to_json(value).encode("utf-8")
            else:
                data = TAGGED + to_json(self._encode(value)).encode("utf-8")
        except RecursionError as exc:
            raise CheckpointError(
                "cannot encode value: it is nested too deeply or contains itself"
            ) from exc
        except (TypeError, ValueError) as exc:  # pragma: no cover - _encode covers all types
            raise CheckpointError(f"cannot encode value: {exc}") from exc
        return data if self.cipher is None else self._seal(data)

    def _seal(self, data: bytes) -> bytes:
        if self.cipher is None:  # pragma: no cover - callers check first
            raise CheckpointError("this Serializer has no cipher")
        name, ciphertext = self.cipher.encrypt(data)
        label = name.encode("utf-8")
        if not 0 < len(label) < 256:
            raise CheckpointError(f"a cipher's name must be 1 to 255 bytes, got {name!r}")
        return _SEALED + bytes((len(label),)) + label + ciphertext

    def _open(self, data: bytes) -> bytes:
        """The ``J``/``T`` bytes of an encrypted value."""
        size = data[1] if len(data) > 1 else 0
        name = data[2 : 2 + size].decode("utf-8", "replace")
        if not size or len(data) < 2 + size:
            raise CheckpointCorruptError("an encrypted stored value is truncated")
        if self.cipher is None:
            raise CheckpointError(
                f"a stored value is encrypted (cipher {name!r}); give the saver the cipher "
                "that wrote it: serde=Serializer(cipher=...)"
            )
        try:
            plain = self.cipher.decrypt(name, data[2 + size :])
        except CheckpointError:
            raise
        except Exception as exc:  # a LangGraph cipher raises what its library raises
            raise CheckpointError(
                f"cannot decrypt a stored value with cipher {name!r} ({exc!r}): the key "
                "differs from the one that wrote it, or the value was changed"
            ) from exc
        if plain[:1] not in (_PLAIN, TAGGED):
            raise CheckpointCorruptError("a decrypted stored value has an unknown marker")
        return plain

    def concat(self, parts: Sequence[bytes]) -> bytes:
        """One encoded list holding the items of several lists this serializer encoded,
        without decoding the items (decrypting and encrypting again when they are sealed).

        Raises:
            CheckpointCorruptError: a part is not an encoded list.
            CheckpointError: a part is encrypted and this serializer has no cipher.
        """
        if not any(p[:1] == _SEALED for p in parts):
            return concat_lists(parts)
        plain = [self._open(p) if p[:1] == _SEALED else p for p in parts]
        joined = concat_lists(plain)
        return joined if self.cipher is None else self._seal(joined)

    def _encode(self, value: Any) -> Any:
        """A JSON-able tree for ``value``; returns ``value`` itself when it is plain JSON."""
        kind = type(value)
        if kind in SCALAR_TYPES:
            return value
        if kind is list:
            items = [self._encode(v) for v in value]
            if all(map(_is, items, value)):
                return value
            return items
        if kind is dict:
            return self._encode_dict(value)
        return self._encode_other(value)

    def _encode_dict(self, value: dict[Any, Any]) -> Any:
        if TAG in value or not all(type(k) is str for k in value):
            pairs = [[self._encode(k), self._encode(v)] for k, v in value.items()]
            return {TAG: "dict", "v": pairs}
        out = {k: self._encode(v) for k, v in value.items()}
        if all(out[k] is v for k, v in value.items()):
            return value
        return out

    def _encode_other(self, value: Any) -> Any:
        if isinstance(value, _MESSAGE_TYPES):
            encoded = {TAG: "msg", "v": value.model_dump(mode="json", exclude={"extra"})}
            if value.extra is not None:
                encoded["x"] = self._encode(value.extra)
            return encoded
        if is_langchain_message(value):
            return self._encode_langchain(value)
        if self.fallback is not None and _unreachable_class(type(value), self._types):
            return self._encode_fallback(value)
        if "<locals>" in type(value).__qualname__:
            # A class defined inside a function cannot be found by its path again; remember it
            # for this process (classes are weakly held), so its values round-trip here.
            _LOCAL_CLASSES[_class_path(type(value))] = type(value)
        if isinstance(value, BaseModel):
            return {
                TAG: "model",
                "cls": _class_path(type(value)),
                "v": value.model_dump(mode="json"),
            }
        if isinstance(value, enum.Enum):
            return {TAG: "enum", "cls": _class_path(type(value)), "v": self._encode(value.value)}
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            fields = {
                f.name: self._encode(getattr(value, f.name)) for f in dataclasses.fields(value)
            }
            return {TAG: "dc", "cls": _class_path(type(value)), "v": fields}
        simple = _SIMPLE_ENCODERS.get(type(value))
        if simple is not None:
            tag, encode = simple
            return {TAG: tag, "v": encode(self, value)}
        if isinstance(value, str) and type(value).__module__.startswith("langchain_core."):
            return str(value)  # LangChain's message.text: a str that is also callable
        if self.fallback is not None:
            return self._encode_fallback(value)
        if isinstance(value, BaseException):
            # A task's failure: stored as its repr, as LangGraph stores it.
            return repr(value)
        if self.allow_pickle:
            data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
            return {TAG: "pickle", "v": base64.b64encode(data).decode("ascii")}
        raise CheckpointError(
            f"cannot store a value of type {type(value).__module__}.{type(value).__qualname__} "
            "in a checkpoint: hone encodes JSON values, tuples, sets, bytes, datetimes, enums, "
            "dataclasses and pydantic models. Convert it to one of those, or pass "
            "Serializer(allow_pickle=True) to the saver if its database is trusted."
        )

    def _encode_fallback(self, value: Any) -> Any:
        if self.fallback is None:  # pragma: no cover - callers check first
            raise CheckpointError("this Serializer has no fallback")
        kind, data = self.fallback.dumps_typed(value)
        return {TAG: "ext", "t": kind, "v": base64.b64encode(data).decode("ascii")}

    def _encode_langchain(self, value: Any) -> Any:
        fields = {name: self._encode(getattr(value, name)) for name in type(value).model_fields}
        extras = {k: self._encode(v) for k, v in (value.model_extra or {}).items()}
        encoded = {TAG: "lcmsg", "cls": _class_path(type(value)), "v": fields}
        if extras:
            encoded["x"] = extras
        return encoded

    # -- decoding -----------------------------------------------------------------------

    def loads(self, data: bytes) -> Any:
        """Decode bytes written by :meth:`dumps`.

        Raises:
            CheckpointCorruptError: the bytes are not a value this serializer wrote.
            CheckpointError: the value needs pickle and ``allow_pickle`` is off.
        """
        raw = data if type(data) is bytes else bytes(data)
        if raw[:1] == _SEALED:
            raw = self._open(raw)
        marker, body = raw[:1], raw[1:]
        if marker not in (_PLAIN, TAGGED):
            raise CheckpointCorruptError(f"stored value has an unknown marker {marker!r}")
        tree = parse_json(body)
        if marker == _PLAIN:
            return tree
        try:
            return self._decode(tree)
        except CheckpointError:
            raise
        except (KeyError, TypeError, ValueError, ValidationError, AttributeError) as exc:
            raise CheckpointCorruptError(f"stored value cannot be decoded: {exc!r}") from exc

    def _decode(self, tree: Any) -> Any:
        kind = type(tree)
        if kind is list:
            return self._decode_items(tree)
        if kind is not dict:
            return tree
        tag = tree.get(TAG)
        if tag is None:
            # A parse tree is this call's own: its values are decoded in place.
            for key, value in tree.items():
                if type(value) not in SCALAR_TYPES:
                    tree[key] = self._decode(value)
            return tree
        decode = _DECODERS.get(tag)
        if decode is None:
            raise CheckpointCorruptError(f"stored value has an unknown type tag {tag!r}")
        return decode(self, tree)

    def _decode_items(self, trees: list[Any]) -> list[Any]:
        """Decode a parsed list in place and return it.

        Each decoded item replaces its parse tree, which is freed there and then, so a long
        history (thousands of messages) never holds all its parse trees and all its
        decoded items at once. Holding both pushed about twice the objects into the
        garbage collector's oldest generation, until a load paid for a full collection of
        the whole heap: loads grew faster than the history. Runs of plain hone messages
        are validated in batches, one pydantic call each (pydantic loops in Rust).
        """
        run = 0  # where the current run of plain hone messages starts
        for i, tree in enumerate(trees):
            if _plain_message(tree):
                if i + 1 - run == _MESSAGE_BATCH:
                    self._validate_messages(trees, run, i + 1)
                    run = i + 1
                continue
            if run < i:
                self._validate_messages(trees, run, i)
            trees[i] = self._decode(tree)
            run = i + 1
        if run < len(trees):
            self._validate_messages(trees, run, len(trees))
        return trees

    @staticmethod
    def _validate_messages(trees: list[Any], start: int, stop: int) -> None:
        """Replace the parse trees ``trees[start:stop]`` of plain hone messages with them."""
        trees[start:stop] = _MESSAGES_ADAPTER.validate_python([t["v"] for t in trees[start:stop]])

    def _resolve(self, path: str, *, kind: str) -> type:
        cls = self._types.get(path) or _LOCAL_CLASSES.get(path)
        if cls is not None:
            return cls
        module_name, _, qualname = path.partition(":")
        module = sys.modules.get(module_name)
        if module is None:
            raise CheckpointError(
                f"stored {kind} {path!r} cannot be rebuilt: module {module_name!r} is not "
                "imported. Import it before loading, or pass Serializer(types=[...])."
            )
        obj: Any = module
        for part in qualname.split("."):
            obj = getattr(obj, part, None)
        if not isinstance(obj, type):
            if "<locals>" in qualname:
                raise CheckpointError(
                    f"stored {kind} {path!r} cannot be rebuilt: its class is defined inside a "
                    "function. Define it at module level, or pass Serializer(types=[...])."
                )
            raise CheckpointCorruptError(f"stored {kind} names {path!r}, which is not a class")
        return obj

    def _decode_message(self, tree: dict[str, Any]) -> Any:
        message = _MESSAGE_ADAPTER.validate_python(tree["v"])
        if "x" in tree:
            message = message.model_copy(update={"extra": self._decode(tree["x"])})
        return message

    def _langchain_class(self, path: str) -> Any:
        """The LangChain message class a stored path names (found once per path)."""
        cls = self._langchain_classes.get(path)
        if cls is None:
            _import_langchain_module(path)
            cls = self._resolve(path, kind="LangChain message")
            base = sys.modules["langchain_core.messages.base"].BaseMessage
            if not issubclass(cls, base):
                raise CheckpointCorruptError(f"{path!r} is not a LangChain message class")
            self._langchain_classes[path] = cls
        return cls

    def _decode_langchain(self, tree: dict[str, Any]) -> Any:
        cls = self._langchain_class(tree["cls"])
        fields = self._decode(tree["v"])  # field names: never the tag key, so decoded in place
        if "x" in tree:
            fields.update({k: self._decode(v) for k, v in tree["x"].items()})
        # Fields were valid when stored; building without validators keeps them exactly
        # (AIMessage's validators would, for one, re-derive tool calls from raw kwargs).
        return cls.model_construct(**fields)

    def _decode_model(self, tree: dict[str, Any]) -> Any:
        cls = self._resolve(tree["cls"], kind="pydantic model")
        if not issubclass(cls, BaseModel):
            raise CheckpointCorruptError(f"{tree['cls']!r} is not a pydantic model")
        return cls.model_validate(tree["v"])

    def _decode_dataclass(self, tree: dict[str, Any]) -> Any:
        cls = self._resolve(tree["cls"], kind="dataclass")
        if not dataclasses.is_dataclass(cls):
            raise CheckpointCorruptError(f"{tree['cls']!r} is not a dataclass")
        values = {k: self._decode(v) for k, v in tree["v"].items()}
        fields = dataclasses.fields(cls)
        obj = cls(**{f.name: values[f.name] for f in fields if f.init and f.name in values})
        for f in fields:
            if not f.init and f.name in values:
                object.__setattr__(obj, f.name, values[f.name])
        return obj

    def _decode_enum(self, tree: dict[str, Any]) -> Any:
        cls = self._resolve(tree["cls"], kind="enum")
        if not issubclass(cls, enum.Enum):
            raise CheckpointCorruptError(f"{tree['cls']!r} is not an enum")
        return cls(self._decode(tree["v"]))

    def _decode_fallback(self, tree: dict[str, Any]) -> Any:
        if self.fallback is None:
            raise CheckpointError(
                "a stored value was written by a fallback serializer (type "
                f"{tree['t']!r}); pass Serializer(fallback=...) to load it"
            )
        return self.fallback.loads_typed((tree["t"], base64.b64decode(tree["v"])))

    def _decode_pickle(self, tree: dict[str, Any]) -> Any:
        if not self.allow_pickle:
            raise CheckpointError(
                "a stored value was pickled; pass Serializer(allow_pickle=True) to load it, "
                "and only if its database is trusted"
            )
        try:
            return pickle.loads(base64.b64decode(tree["v"]))
        except Exception as exc:  # unpickling can raise anything
            raise CheckpointCorruptError(f"stored pickle cannot be loaded: {exc!r}") from exc


#: Classes defined inside functions that this process encoded values of, by path.
_LOCAL_CLASSES: weakref.WeakValueDictionary[str, type] = weakref.WeakValueDictionary()


def _unreachable_class(cls: type, registered: dict[str, type]) -> bool:
    """Whether a class (defined inside a function) could not be found again by its path."""
    return "<locals>" in cls.__qualname__ and _class_path(cls) not in registered


def _is(a: object, b: object) -> bool:
    return a is b


def _b64(_: Serializer, value: bytes | bytearray) -> str:
    return base64.b64encode(value).decode("ascii")


def _seq(s: Serializer, value: Iterable[Any]) -> list[Any]:
    return [s._encode(v) for v in value]


_SIMPLE_ENCODERS: dict[type, tuple[str, Callable[[Serializer, Any], Any]]] = {
    tuple: ("tuple", _seq),
    set: ("set", _seq),
    frozenset: ("frozenset", _seq),
    bytes: ("bytes", _b64),
    bytearray: ("bytearray", _b64),
    dt.datetime: ("datetime", lambda _, v: v.isoformat()),
    dt.date: ("date", lambda _, v: v.isoformat()),
    dt.time: ("time", lambda _, v: v.isoformat()),
    dt.timedelta: ("timedelta", lambda _, v: [v.days, v.seconds, v.microseconds]),
    uuid.UUID: ("uuid", lambda _, v: str(v)),
}


def _import_langchain_module(path: str) -> None:
    """Import the langchain-core module a stored message class lives in (``module:Class``).

    langchain-core loads its message modules lazily, so importing ``langchain_core.messages``
    is not enough: the class's own module is imported, and only inside langchain-core (a
    stored path never makes hone import anything else).

    Raises:
        CheckpointError: langchain-core is not installed, or has no such module.
    """
    module_name = path.partition(":")[0]
    if not module_name.startswith("langchain_core.") or module_name in sys.modules:
        return
    try:
        importlib.import_module("langchain_core")
    except ImportError as exc:
        raise CheckpointError(
            f"stored LangChain message {path!r} cannot be rebuilt: langchain-core is not "
            "installed (pip install 'hone[langchain]')"
        ) from exc
    try:
        importlib.import_module(module_name)
    except ImportError as exc:
        raise CheckpointError(
            f"stored LangChain message {path!r} cannot be rebuilt: the installed "
            f"langchain-core has no module {module_name!r} (was it stored by another version?)"
        ) from exc


_DECODERS: dict[str, Callable[[Serializer, dict[str, Any]], Any]] = {
    "dict": lambda s, t: {s._decode(k): s._decode(v) for k, v in t["v"]},
    "msg": Serializer._decode_message,
    "lcmsg": Serializer._decode_langchain,
    "model": Serializer._decode_model,
    "dc": Serializer._decode_dataclass,
    "enum": Serializer._decode_enum,
    "pickle": Serializer._decode_pickle,
    "ext": Serializer._decode_fallback,
    "tuple": lambda s, t: tuple(s._decode(v) for v in t["v"]),
    "set": lambda s, t: {s._decode(v) for v in t["v"]},
    "frozenset": lambda s, t: frozenset(s._decode(v) for v in t["v"]),
    "bytes": lambda _, t: base64.b64decode(t["v"], validate=True),
    "bytearray": lambda _, t: bytearray(base64.b64decode(t["v"], validate=True)),
    "datetime": lambda _, t: dt.datetime.fromisoformat(t["v"]),
    "date": lambda _, t: dt.date.fromisoformat(t["v"]),
    "time": lambda _, t: dt.time.fromisoformat(t["v"]),
    "timedelta": lambda _, t: dt.timedelta(*t["v"]),
    "uuid": lambda _, t: uuid.UUID(t["v"]),
}


def as_serializer(serde: Any, *, allow_pickle: bool = False) -> Serializer:
    """The :class:`Serializer` a saver's ``serde=`` names.

    * None: ``Serializer(allow_pickle=allow_pickle)``;
    * a :class:`Serializer`: itself;
    * LangGraph's ``EncryptedSerializer``: a serializer with its cipher (every stored value
      encrypted with it) and its inner serializer as the fallback;
    * any other LangGraph serializer (``dumps_typed``/``loads_typed``, e.g.
      ``JsonPlusSerializer``): the fallback of a serializer that stores what it can as typed
      JSON (see :class:`Serializer`).

    Raises:
        TypeError: ``serde`` is none of those.
    """
    if serde is None:
        return Serializer(allow_pickle=allow_pickle)
    if isinstance(serde, Serializer):
        return serde
    encrypted = sys.modules.get("langgraph.checkpoint.serde.encrypted")
    if encrypted is not None and isinstance(serde, encrypted.EncryptedSerializer):
        return Serializer(allow_pickle=allow_pickle, fallback=serde.serde, cipher=serde.cipher)
    if callable(getattr(serde, "dumps_typed", None)) and callable(
        getattr(serde, "loads_typed", None)
    ):
        return Serializer(allow_pickle=allow_pickle, fallback=serde)
    raise TypeError(
        f"serde must be a hone.checkpoint.Serializer or a LangGraph serializer (with "
        f"dumps_typed/loads_typed), got {type(serde).__module__}.{type(serde).__qualname__}"
    )
