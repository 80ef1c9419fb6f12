"""The embedded broker never hands a worker a half-written message (which killed a worker in tests)."""

from kombu import Connection

from webapp.broker import Transport


def channel(tmp_path):
    conn = Connection(transport=Transport, transport_options={
        "data_folder_in": str(tmp_path), "data_folder_out": str(tmp_path), "control_folder": str(tmp_path / "c"),
        "store_processed": False})
    return conn, conn.default_channel


def test_a_message_appears_only_when_complete(tmp_path):
    conn, chan = channel(tmp_path)
    chan._put("gpu", {"body": "x" * 100_000})
    names = [p.name for p in tmp_path.iterdir() if p.is_file()]
    assert len(names) == 1 and names[0].endswith(".gpu.msg")
    assert chan._get("gpu") == {"body": "x" * 100_000}
    conn.release()


def test_a_message_still_being_written_is_skipped(tmp_path):
    conn, chan = channel(tmp_path)
    (tmp_path / "1_abc.gpu.msg.part").write_bytes(b"")  # what a writer leaves mid-write
    chan._put("gpu", {"n": 1})
    assert chan._get("gpu") == {"n": 1}
    assert (tmp_path / "1_abc.gpu.msg.part").exists()
    conn.release()
