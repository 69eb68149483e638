from __future__ import annotations

import asyncio
import io

from livecomments.cli import main
from livecomments.passwords import verify_password
from storage.sqlite import SqliteCommentStore


async def _user(db: str, name: str):
    store = SqliteCommentStore(db)
    await store.open()
    try:
        return await store.user_by_name(name)
    finally:
        await store.aclose()


def test_create_admin_reads_the_password_from_stdin(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LIVECOMMENTS_DATA_DIR", str(tmp_path))
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-password\n"))
    assert main(["create-admin", "root"]) == 0
    assert "admin root" in capsys.readouterr().out
    user = asyncio.run(_user(str(tmp_path / "livecomments.db"), "root"))
    assert user.role == "admin" and user.password_hash.startswith("scrypt$")
    assert verify_password("a-long-password", user.password_hash)


def test_bad_input_is_a_message_not_a_traceback(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LIVECOMMENTS_DATA_DIR", str(tmp_path))
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["create-admin", "root"]) == 2
    assert "password must be 8 to 128 characters" in capsys.readouterr().err
    monkeypatch.setenv("LIVECOMMENTS_PORT", "none")
    assert main(["serve"]) == 2
    assert "LIVECOMMENTS_PORT" in capsys.readouterr().err
