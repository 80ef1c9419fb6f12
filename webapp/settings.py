"""Django settings for Lux, read from the environment (every variable is listed in .env.example)."""

import secrets
from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from webapp.dburl import parse_database_url, sqlite_database
from webapp.env import env_bool, env_choice, env_int, env_list, env_secret, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("LUX_DATA_DIR") or BASE_DIR / "var").resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)
DATABASE_URL = env_str("DATABASE_URL")
REDIS_URL = env_str("REDIS_URL")
# The embedded default is one machine with nothing installed; anything else is a server deployment.
EMBEDDED = not DATABASE_URL and not REDIS_URL


def _secret_key() -> str:
    """Return SECRET_KEY, generating one into the data folder for the embedded default."""
    key = env_secret("SECRET_KEY")
    if key:
        return key
    if not (DEBUG or EMBEDDED):
        raise ImproperlyConfigured("SECRET_KEY (or SECRET_KEY_FILE) is required when DEBUG is off")
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_results",
    "axes",
    "webapp.core",
    "webapp.accounts",
    "webapp.api",
    "webapp.datasets",
    "webapp.runs",
    "webapp.classify",
    "webapp.weights",
    "webapp.labelling",
    "webapp.datachecks",
    "webapp.searches",
]

MIDDLEWARE = [
    # Outermost, so every answer gets Permissions-Policy, static files and redirects included (webapp/core/headers.py).
    "webapp.core.headers.PrivacyHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Pages run only Lux's own script files: no inline script, handler or style attribute (webapp/core/csp.py).
    "webapp.core.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Outside the session and auth middleware: a database outage anywhere inside answers 503, not 500.
    "webapp.core.db_outage.DatabaseOutageMiddleware",
    # A job saved but not sent because the broker is down answers 503 (API) or its page with a warning.
    "webapp.core.queue_outage.QueueOutageMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every page needs a signed-in user unless its view says otherwise (login, first account, /healthz).
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: turns a sign-in that hit the lockout into the page that says so.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "webapp.urls"
WSGI_APPLICATION = "webapp.wsgi.application"
ASGI_APPLICATION = "webapp.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "webapp.core.context.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": parse_database_url(DATABASE_URL) if DATABASE_URL else sqlite_database(DATA_DIR / "lux.sqlite3")
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Axes first: it refuses a locked-out sign-in before any password is checked (it authenticates no one itself).
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Set STATIC_ROOT only where collectstatic runs (the Docker image); otherwise WhiteNoise serves the sources.
STATIC_ROOT = env_str("STATIC_ROOT") or None
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = STATIC_ROOT is None

MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or DATA_DIR / "media").resolve()
# Media is private (people's images): it is served only through views that check ownership, never by URL.
MEDIA_URL = "/media-not-public/"
# Dataset images, thumbnails and uploaded archives go through the storage API: local disk under MEDIA_ROOT,
# or an S3-compatible bucket (AWS, MinIO, Ceph, ...) when LUX_S3_BUCKET is set. Trained weights and
# checkpoints stay under MEDIA_ROOT on the worker's disk either way.
LUX_S3_BUCKET = env_str("LUX_S3_BUCKET")
if LUX_S3_BUCKET:
    _MEDIA = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
        "bucket_name": LUX_S3_BUCKET,
        "endpoint_url": env_str("LUX_S3_ENDPOINT_URL") or None,  # unset: AWS itself
        "region_name": env_str("LUX_S3_REGION") or None,
        "access_key": env_secret("LUX_S3_ACCESS_KEY") or None,  # unset: boto3's own lookup (roles, ~/.aws)
        "secret_key": env_secret("LUX_S3_SECRET_KEY") or None,
        "location": env_str("LUX_S3_PREFIX").strip("/"),
        "default_acl": None,
        "querystring_auth": True,  # media is private: never a public URL
        "file_overwrite": False,  # a taken name gets a new one, as on disk
        # A file opened for reading is downloaded whole; past this size into a temporary file, not memory
        # (the default, 0, keeps any size in memory: a 4 GiB ZIP import would hold 4 GiB on the worker).
        "max_memory_size": 16 * 1024 * 1024,
    }}
else:
    _MEDIA = {"BACKEND": "webapp.core.storage.MediaStorage"}
STORAGES = {
    "default": _MEDIA,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Upload limits: the browser sends images in batches of at most 100 files per request.
DATA_UPLOAD_MAX_NUMBER_FILES = env_int("LUX_MAX_FILES_PER_REQUEST", 100, minimum=1)
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("LUX_MAX_FORM_BYTES", 10 * 1024 * 1024, minimum=1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
LUX_MAX_UPLOAD_BYTES = env_int("LUX_MAX_UPLOAD_BYTES", 50 * 1024 * 1024, minimum=1024)
LUX_MAX_ARCHIVE_BYTES = env_int("LUX_MAX_ARCHIVE_BYTES", 4 * 1024**3, minimum=1024)
LUX_MAX_IMAGE_PIXELS = env_int("LUX_MAX_IMAGE_PIXELS", 40_000_000, minimum=64)
# Uploads waiting in batch jobs not yet started: at most this many bytes per user, deleted with their job once
# nothing was added for this many hours (the workers' reaper sweeps them).
LUX_PENDING_UPLOAD_QUOTA_BYTES = env_int("LUX_PENDING_UPLOAD_QUOTA_BYTES", 2 * 1024**3, minimum=1024)
LUX_PENDING_UPLOAD_EXPIRY_HOURS = env_int("LUX_PENDING_UPLOAD_EXPIRY_HOURS", 24, minimum=1)

# Pretrained weights (webapp/weights): LUX_OFFLINE turns downloading off (air-gapped sites upload files instead);
# files are downloaded from LUX_WEIGHTS_BASE_URL + torchvision's file name, and checked against its checksum.
LUX_OFFLINE = env_bool("LUX_OFFLINE", False)
LUX_WEIGHTS_BASE_URL = env_str("LUX_WEIGHTS_BASE_URL", "https://download.pytorch.org/models/")
LUX_DEVICE = env_choice("LUX_DEVICE", "auto", ("auto", "cpu", "cuda"))
# Seconds a web request waits for a quick test or explanation before answering 202 with a URL to poll.
LUX_QUICK_WAIT_SECONDS = env_int("LUX_QUICK_WAIT_SECONDS", 5, minimum=0)

# --- Security: on by default; `manage.py check --deploy` passes when DEBUG is off.
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # the page's fetch() calls read the token from the cookie
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
HTTPS = env_bool("LUX_HTTPS", not DEBUG and not EMBEDDED)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS and env_bool("LUX_SSL_REDIRECT", True)
# Only a proxy in front may say the request came over HTTPS (and from which address); without one, any client could.
LUX_BEHIND_PROXY = env_bool("LUX_BEHIND_PROXY", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if LUX_BEHIND_PROXY else None
SECURE_HSTS_SECONDS = env_int("LUX_HSTS_SECONDS", 31536000 if HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS and env_bool("LUX_HSTS_PRELOAD", True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# --- Sign-in lockout (django-axes): after LUX_LOGIN_FAILURE_LIMIT failed sign-ins for one account, or from one
# address (bad API tokens included), sign-in is refused for LUX_LOGIN_LOCKOUT_MINUTES, restarted by each new try.
# Unlock early: admin > Axes > Access attempts (delete the row), or `manage.py axes_reset_username NAME`.
AXES_FAILURE_LIMIT = env_int("LUX_LOGIN_FAILURE_LIMIT", 10, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LUX_LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = "webapp.accounts.services.lockout.lockout_parameters"
AXES_CLIENT_IP_CALLABLE = "webapp.accounts.services.lockout.client_ip"
AXES_LOCKOUT_CALLABLE = "webapp.accounts.services.lockout.locked_out"
# A success must not wipe the count: an attacker with any account could sign in to reset their address.
AXES_RESET_ON_SUCCESS = False

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an anonymous request then gets 401 with a WWW-Authenticate header, not 403.
        "webapp.accounts.authentication.LockoutTokenAuthentication",  # DRF's, with failed tokens counted
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "webapp.api.validation.Pages",  # `page_size` too; a malformed one is a 400
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "webapp.api.errors.json_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Lux API",
    "DESCRIPTION": "Datasets, training runs, evaluations and classification jobs. "
    "Authenticate with a session or an `Authorization: Token <key>` header.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Bodies are documented as JSON (a form cannot say null); uploads name multipart/form-data themselves.
    "PARSER_WHITELIST": ["rest_framework.parsers.JSONParser"],
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "webapp.api.docs.document_page_size_errors"],
    "ENUM_NAME_OVERRIDES": {"SplitEnum": "webapp.datasets.models.Split",
                            # Imports, evaluations and explanations share these four states.
                            "JobStateEnum": "webapp.runs.models.EvaluationStatus",
                            "EvaluableSplitEnum": "webapp.classify.services.jobs.VERSION_SPLITS",
                            # Three fields are called `kind`: each its own name.
                            "DataCheckKindEnum": "webapp.datachecks.models.CheckKind",
                            "ImportKindEnum": "webapp.datasets.models.ImportKind"},
}

# --- Celery: namespace CELERY; two queues; tasks survive their worker.
BROKER_DIR = DATA_DIR / "broker"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # Longer than the longest run: a shorter one makes Redis hand a running task to a second worker.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("LUX_VISIBILITY_TIMEOUT", 7 * 24 * 3600)}
else:
    for sub in ("queue", "processed", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
        # The filesystem transport polls; the default 1 s would dominate a quick prediction round trip. `make run`
        # gives the interactive worker 10 ms (about 1% of a core when idle; a person waits on its answers).
        "polling_interval": env_int("LUX_BROKER_POLL_MS", 50, minimum=1) / 1000,
    }
CELERY_RESULT_BACKEND = "django-db"
CELERY_RESULT_EXTENDED = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TRACK_STARTED = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO").upper()},
    # axes logs every sign-in and clean-up at INFO; its failures and lockouts are WARNINGs.
    "loggers": {"django.db.backends": {"level": "INFO"}, "axes": {"level": "WARNING"}},
}
