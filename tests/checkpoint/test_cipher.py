"""Encrypted checkpoints: ``AesGcmCipher``, ``Serializer(cipher=...)``, the savers'
``serde=`` (hone's and LangGraph's serializers), and what reaches the disk."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typing_extensions import TypedDict

from hone.checkpoint import (
    AesGcmCipher,
    Cipher,
    InMemorySaver,
    Serializer,
    SqliteSaver,
    as_serializer,
)
from hone.errors import CheckpointCorruptError, CheckpointError, ConfigError
from hone.graph import START, MessagesState, StateGraph
from hone.messages import UserMessage

KEY = bytes(range(32))
OTHER = bytes(range(1, 33))
SECRET = "my card is 4111 1111 1111 1111"


def _sealed(key: bytes = KEY, previous: tuple[bytes, ...] = ()) -> Serializer:
    return Serializer(cipher=AesGcmCipher(key, previous=previous))


def test_values_round_trip_sealed_and_tampering_is_detected() -> None:
    serde = _sealed()
    value = {"messages": [UserMessage(content=SECRET)], "n": 3}
    data = serde.dumps(value)
    assert data[:1] == b"E" and SECRET.encode() not in data
    assert serde.loads(data) == value
    assert serde.dumps(value) != data  # a fresh nonce per value
    tampered = data[:-1] + bytes((data[-1] ^ 1,))
    with pytest.raises(CheckpointCorruptError, match="failed authentication"):
        serde.loads(tampered)
    with pytest.raises(CheckpointCorruptError, match="truncated"):
        serde.loads(b"E")


def test_keys_rotate_and_an_unknown_key_is_named() -> None:
    old = _sealed(OTHER).dumps([1, 2, 3])
    rotated = _sealed(KEY, previous=(OTHER,))
    assert rotated.loads(old) == [1, 2, 3]  # written under the previous key
    assert rotated.loads(rotated.dumps("new")) == "new"
    with pytest.raises(CheckpointError, match="does not hold") as caught:
        _sealed(KEY).loads(old)
    assert AesGcmCipher(OTHER)._key_id.hex() in str(caught.value)


def test_plain_rows_stay_readable_and_sealed_ones_need_the_cipher() -> None:
    plain = Serializer().dumps({"a": 1})
    assert _sealed().loads(plain) == {"a": 1}  # a database that turns encryption on
    with pytest.raises(CheckpointError, match=r"encrypted \(cipher 'aesgcm'\)"):
        Serializer().loads(_sealed().dumps({"a": 1}))


def test_segments_concatenate_across_plain_and_sealed_parts() -> None:
    sealed, plain = _sealed(), Serializer()
    parts = [plain.dumps([1, 2]), sealed.dumps([3]), sealed.dumps(["four"])]
    joined = sealed.concat(parts)
    assert joined[:1] == b"E" and sealed.loads(joined) == [1, 2, 3, "four"]
    assert plain.concat([plain.dumps([1]), plain.dumps([2])]) == plain.dumps([1, 2])
    with pytest.raises(CheckpointError, match="encrypted"):
        plain.concat([plain.dumps([1]), sealed.dumps([2])])


def test_key_material_is_checked() -> None:
    assert AesGcmCipher(base64.b64encode(KEY).decode()).encrypt(b"x")[0] == "aesgcm"
    assert isinstance(AesGcmCipher(KEY), Cipher)
    for bad in (b"short", "not base64!", base64.b64encode(b"x" * 20).decode()):
        with pytest.raises(ConfigError, match="16, 24 or 32"):
            AesGcmCipher(bad)
    with pytest.raises(CheckpointError, match="does not read"):
        AesGcmCipher(KEY).decrypt("aes", b"\x01" + b"\x00" * 40)


def test_from_env_reads_the_key_and_the_previous_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HONE_AES_KEY", raising=False)
    with pytest.raises(ConfigError, match="HONE_AES_KEY"):
        AesGcmCipher.from_env()
    monkeypatch.setenv("HONE_AES_KEY", base64.b64encode(KEY).decode())
    monkeypatch.setenv("HONE_AES_KEY_PREVIOUS", base64.b64encode(OTHER).decode() + ",")
    cipher = AesGcmCipher.from_env()
    old = _sealed(OTHER).dumps("old")
    assert Serializer(cipher=cipher).loads(old) == "old"


def _chat(saver: Any) -> Any:
    def reply(state: MessagesState) -> dict[str, Any]:
        return {"messages": [("assistant", f"noted, reply {len(state['messages'])}")]}

    graph = StateGraph(MessagesState).add_node("reply", reply).add_edge(START, "reply")
    return graph.compile(checkpointer=saver)


def _converse(saver: Any, turns: int = 12) -> list[str]:
    chat, config = _chat(saver), {"configurable": {"thread_id": "alice"}}
    for turn in range(turns):
        chat.invoke({"messages": [("user", f"{SECRET} (turn {turn})")]}, config)
    return [m.content for m in chat.get_state(config).values["messages"]]


def test_an_encrypting_sqlite_saver_writes_no_plaintext(tmp_path: Path) -> None:
    path = tmp_path / "agent.db"
    saver = SqliteSaver(path, serde=_sealed())
    contents = _converse(saver)
    assert len(contents) == 24 and contents[-2].startswith(SECRET)
    on_disk = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert SECRET.encode() not in on_disk and b"noted, reply" not in on_disk
    saver.close()
    with SqliteSaver.from_conn_string(str(path), serde=_sealed(OTHER, previous=(KEY,))) as again:
        assert _converse(again, 1)[:24] == contents  # rotated: old rows read, thread goes on
    unkeyed = SqliteSaver(path)
    with pytest.raises(CheckpointError, match="encrypted"):
        _chat(unkeyed).get_state({"configurable": {"thread_id": "alice"}})
    unkeyed.close()


@pytest.mark.postgres
def test_an_encrypting_postgres_saver_writes_no_plaintext(
    pg_dsn: str, pg_schemas: Callable[[], str]
) -> None:
    import psycopg

    from hone.checkpoint import PostgresSaver

    schema = pg_schemas()
    with PostgresSaver.from_conn_string(pg_dsn, schema=schema, serde=_sealed()) as saver:
        assert len(_converse(saver)) == 24
    with psycopg.connect(pg_dsn) as conn:
        stored = b"".join(
            bytes(row[0])
            for table in ("blobs", "segments", "writes", "checkpoints")
            for row in conn.execute(
                f"SELECT {'body' if table == 'checkpoints' else 'data'} "
                f'FROM "{schema}".hone_{table}'
            )
        )
    assert stored and SECRET.encode() not in stored and b"noted" not in stored


class _XorCipher:
    """A LangGraph ``CipherProtocol`` (not a real cipher: it only marks what it touched)."""

    def __init__(self) -> None:
        self.calls = 0

    def encrypt(self, plaintext: bytes) -> tuple[str, bytes]:
        self.calls += 1
        return "xor", bytes(b ^ 0x5A for b in plaintext)

    def decrypt(self, ciphername: str, ciphertext: bytes) -> bytes:
        assert ciphername == "xor"
        return bytes(b ^ 0x5A for b in ciphertext)


def test_langgraph_serializers_as_serde() -> None:
    from langgraph.checkpoint.serde.encrypted import EncryptedSerializer
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    cipher = _XorCipher()
    saver = InMemorySaver(serde=EncryptedSerializer(cipher))
    assert saver.serde.cipher is cipher and saver.serde.fallback is not None
    assert len(_converse(saver, 2)) == 4 and cipher.calls > 0
    spaces = saver._backend.threads["alice"].values()  # type: ignore[attr-defined]
    stored = [b.data for space in spaces for b in space.blobs.values()]
    assert stored and all(data[:5] == b"E\x03xor" for data in stored)
    jsonplus = JsonPlusSerializer()
    assert as_serializer(jsonplus).fallback is jsonplus
    assert as_serializer(None).allow_pickle is False
    with pytest.raises(TypeError, match=r"serde must be a hone\.checkpoint\.Serializer"):
        InMemorySaver(serde="json")  # type: ignore[arg-type]


def test_langgraph_saver_takes_the_cipher_of_an_encrypted_serializer() -> None:
    from langgraph.checkpoint.serde.encrypted import EncryptedSerializer
    from langgraph.graph import START as LG_START
    from langgraph.graph import StateGraph as LGStateGraph

    from hone.checkpoint.langgraph import LangGraphSaver

    class State(TypedDict):
        note: str

    inner = InMemorySaver()
    cipher = _XorCipher()
    with LangGraphSaver(inner, serde=EncryptedSerializer(cipher)) as checkpointer:
        graph = (
            LGStateGraph(State)
            .add_node("keep", lambda s: {"note": s["note"] + "!"})
            .add_edge(LG_START, "keep")
            .compile(checkpointer=checkpointer)
        )
        config: Any = {"configurable": {"thread_id": "1"}}
        assert graph.invoke({"note": SECRET}, config) == {"note": SECRET + "!"}
        assert graph.get_state(config).values == {"note": SECRET + "!"}
    assert inner.serde.cipher is cipher and cipher.calls > 0


def test_a_cipher_name_must_fit_its_length_byte() -> None:
    class Long(_XorCipher):
        def encrypt(self, plaintext: bytes) -> tuple[str, bytes]:
            return "x" * 300, plaintext

    with pytest.raises(CheckpointError, match="1 to 255 bytes"):
        Serializer(cipher=Long()).dumps(1)
