"""docker-compose.yml describes the production layout and runs the same commands as the Makefile."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_it_has_every_service_with_healthchecks_on_the_stateful_ones():
    services = compose()["services"]
    assert set(services) == {"postgres", "redis", "web", "worker-gpu", "worker-interactive", "worker-cpu"}
    for name in ("postgres", "redis", "web"):
        assert "healthcheck" in services[name], name


def test_the_gpu_worker_takes_one_task_at_a_time_on_a_reserved_gpu():
    worker = compose()["services"]["worker-gpu"]
    command = " ".join(worker["command"])
    assert "-Q gpu -c 1" in command
    assert worker["deploy"]["resources"]["reservations"]["devices"][0]["capabilities"] == ["gpu"]


def test_quick_tests_and_explanations_have_a_worker_of_their_own_beside_training():
    services = compose()["services"]
    command = " ".join(services["worker-interactive"]["command"])
    assert "-Q interactive -c 1" in command and "gpu" not in command.split("-Q ")[1].split()[0]
    assert "interactive" not in " ".join(services["worker-gpu"]["command"])
    # It shares the GPU with training rather than waiting for it.
    devices = services["worker-interactive"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["capabilities"] == ["gpu"]


def test_workers_share_the_media_volume_with_the_web_server():
    services = compose()["services"]
    assert all("media:/data" in services[s]["volumes"] for s in ("web", "worker-gpu", "worker-interactive",
                                                                    "worker-cpu"))


def test_worker_commands_match_the_makefile():
    makefile = (ROOT / "Makefile").read_text()
    assert "-m celery -A webapp worker -Q $(QUEUES) -c $(CONCURRENCY)" in makefile
    for service in ("worker-gpu", "worker-interactive", "worker-cpu"):
        command = " ".join(compose()["services"][service]["command"])
        assert ".venv/bin/python -m celery -A webapp worker -Q " in command


def test_the_web_server_is_published_on_this_host_only_behind_a_trusted_proxy():
    web = compose()["services"]["web"]
    # Plain HTTP: only a TLS proxy on the same host may reach it, never the network.
    assert web["ports"] == ["127.0.0.1:8000:8000"]
    assert web["environment"]["LUX_BEHIND_PROXY"] == "true"
    assert web["environment"]["DATABASE_URL"].startswith("postgres://lux:")  # the shared settings are kept
    assert all("LUX_BEHIND_PROXY" not in compose()["services"][s]["environment"]
               for s in ("worker-gpu", "worker-interactive", "worker-cpu"))
