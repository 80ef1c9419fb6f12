"""The embedded default must let a worker and the web server write at the same time."""

import sqlite3
import threading

from django.db.utils import ConnectionHandler

from webapp.dburl import sqlite_database


def test_concurrent_read_then_write_transactions_never_see_database_is_locked(tmp_path, django_db_blocker):
    with django_db_blocker.unblock():
        race(tmp_path)


def race(tmp_path):
    path = tmp_path / "race.sqlite3"
    handler = ConnectionHandler({"default": sqlite_database(path)})
    with handler["default"].cursor() as cursor:
        cursor.execute("CREATE TABLE t (n INTEGER)")
    handler["default"].close()
    errors = []

    def writer():
        conn = handler["default"]  # one connection per thread
        try:
            for i in range(40):
                # What transaction.atomic() does: a read, then a write, in one transaction. With deferred
                # transactions two such writers deadlock and SQLite answers "database is locked" at once.
                conn.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)
                with conn.cursor() as cursor:
                    cursor.execute("SELECT COUNT(*) FROM t")
                    cursor.execute("INSERT INTO t VALUES (%s)", [i])
                conn.commit()
                conn.set_autocommit(True)
        except Exception as exc:  # the failure under test is exactly an exception here
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    check = sqlite3.connect(path)
    assert check.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 160
    assert check.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
