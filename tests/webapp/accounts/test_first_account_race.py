"""Racing visitors on a fresh install: exactly one becomes the first administrator, on SQLite and PostgreSQL."""

import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import connections
from django.test import Client

User = get_user_model()
RACERS = 12


def account(n: int) -> dict:
    password = "correct horse battery"
    return {"username": f"racer{n}", "email": "", "password1": password, "password2": password}


@pytest.mark.django_db(transaction=True)
def test_only_one_of_many_racing_visitors_becomes_the_first_administrator():
    start = threading.Barrier(RACERS)
    landed: list[str | None] = [None] * RACERS

    def race(n: int) -> None:
        try:
            client = Client()
            start.wait(timeout=30)
            landed[n] = client.post("/accounts/first/", account(n))["Location"]
        except Exception as exc:  # a crash in a thread must fail the test, not vanish
            landed[n] = repr(exc)
        finally:
            connections.close_all()  # each thread has its own connection; the test database must be droppable

    threads = [threading.Thread(target=race, args=(n,)) for n in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert User.objects.filter(is_superuser=True).count() == 1, landed
    assert User.objects.count() == 1
    # The winner is signed in and lands on the dashboard; everyone else is sent to sign in.
    assert sorted(landed) == ["/"] + ["/accounts/login/"] * (RACERS - 1)
