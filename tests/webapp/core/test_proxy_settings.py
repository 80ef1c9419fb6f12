"""X-Forwarded-Proto is believed only when LUX_BEHIND_PROXY says a proxy sits in front to set it."""

from tests.webapp.core.test_deploy_check import PRODUCTION, manage

SECURE = ("from django.test import RequestFactory; "
          "print(RequestFactory().get('/', HTTP_X_FORWARDED_PROTO='https').is_secure())")


def claims_https(tmp_path, **env) -> str:
    result = manage("shell", "-c", SECURE, LUX_DATA_DIR=str(tmp_path), **PRODUCTION, **env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_a_client_cannot_claim_https_without_a_proxy_in_front(tmp_path):
    assert claims_https(tmp_path) == "False"


def test_the_proxy_in_front_says_whether_the_request_came_over_https(tmp_path):
    assert claims_https(tmp_path, LUX_BEHIND_PROXY="true") == "True"


def test_production_settings_behind_a_proxy_pass_check_deploy(tmp_path):
    result = manage("check", "--deploy", "--fail-level", "WARNING", LUX_DATA_DIR=str(tmp_path), LUX_BEHIND_PROXY="true",
                    **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
