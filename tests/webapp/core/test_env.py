import pytest

from webapp.env import EnvError, env_bool, env_int, env_secret


@pytest.mark.parametrize("raw,expected", [("1", True), ("true", True), ("ON", True), ("0", False), ("off", False)])
def test_it_reads_clear_booleans(monkeypatch, raw, expected):
    monkeypatch.setenv("LUX_FLAG", raw)
    assert env_bool("LUX_FLAG") is expected


@pytest.mark.parametrize("raw", ["yes", "tru", "enabled", "2"])
def test_it_rejects_yes_ish_typos(monkeypatch, raw):
    monkeypatch.setenv("LUX_FLAG", raw)
    with pytest.raises(EnvError, match="LUX_FLAG"):
        env_bool("LUX_FLAG")


def test_it_uses_the_default_when_unset(monkeypatch):
    monkeypatch.delenv("LUX_FLAG", raising=False)
    assert env_bool("LUX_FLAG", True) is True
    assert env_int("LUX_NUMBER", 7) == 7


def test_it_rejects_a_non_number(monkeypatch):
    monkeypatch.setenv("LUX_NUMBER", "12MB")
    with pytest.raises(EnvError, match="LUX_NUMBER='12MB' is not a whole number"):
        env_int("LUX_NUMBER", 1)


def test_it_enforces_a_minimum(monkeypatch):
    monkeypatch.setenv("LUX_NUMBER", "0")
    with pytest.raises(EnvError, match="below the minimum"):
        env_int("LUX_NUMBER", 1, minimum=1)


def test_it_reads_a_secret_from_a_file(monkeypatch, tmp_path):
    secret = tmp_path / "key"
    secret.write_text("s3cret\n")
    monkeypatch.delenv("LUX_KEY", raising=False)
    monkeypatch.setenv("LUX_KEY_FILE", str(secret))
    assert env_secret("LUX_KEY") == "s3cret"


def test_it_refuses_a_secret_given_twice(monkeypatch, tmp_path):
    monkeypatch.setenv("LUX_KEY", "a")
    monkeypatch.setenv("LUX_KEY_FILE", str(tmp_path / "key"))
    with pytest.raises(EnvError, match="not both"):
        env_secret("LUX_KEY")


def test_it_names_an_unreadable_secret_file(monkeypatch, tmp_path):
    monkeypatch.delenv("LUX_KEY", raising=False)
    monkeypatch.setenv("LUX_KEY_FILE", str(tmp_path / "missing"))
    with pytest.raises(EnvError, match="cannot be read"):
        env_secret("LUX_KEY")
