"""One settings module, driven by environment variables.

SQLite in a data directory is the zero-configuration default; production differs only
by its environment (DATABASE_URL, SECRET_KEY, ALLOWED_HOSTS, ...).
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
import django_stubs_ext
from csp.constants import NONE, SELF

# Lets generic classes such as forms.ModelForm[Model] be subscripted at runtime.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {
        "1",
        "true",
        "yes",
        "on",
    }


def env_list(name: str, default: str) -> list[str]:
    return [
        item.strip()
        for item in os.environ.get(name, default).split(",")
        if item.strip()
    ]


DATA_DIR = Path(os.environ.get("LANDMARK_DATA_DIR", Path.cwd() / "data")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def load_secret_key() -> str:
    """Use SECRET_KEY when set; otherwise keep a generated key in the data directory."""
    if key := os.environ.get("SECRET_KEY"):
        return key
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = load_secret_key()
DEBUG = env_bool("DEBUG")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "simple_history",
    "csp",
    "axes",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "allauth.mfa",
    "landmark.orgs",
    "landmark.okrs",
    "landmark.kpis",
    "landmark.loop",  # where KPIs and OKRs meet (above both)
    "landmark.search",  # one search box over OKRs, KPIs, teams and people (above them)
    "huey.contrib.djhuey",  # the job queue's Django integration (`run_huey`, db_task)
    "landmark.jobs",
    "landmark.notify",
    "landmark.hooks",  # outgoing webhooks (beside notify)
    "landmark.comments",  # threads on objectives, key results and KPIs; @mentions
    "landmark.connectors",
    "ninja",  # django-ninja's Swagger UI static files: the API docs page works offline
    "landmark.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into a 429 page.
    "axes.middleware.AxesMiddleware",
    "landmark.orgs.middleware.CurrentMembershipMiddleware",
]

ROOT_URLCONF = "landmark.urls"
WSGI_APPLICATION = "landmark.wsgi.application"

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
                "landmark.orgs.context_processors.membership",
                "landmark.orgs.context_processors.sign_up",
                "landmark.okrs.context_processors.focus_count",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{DATA_DIR / 'landmark.sqlite3'}"),
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Server-side parameters and prepared statements: a statement run a few times on a
    # connection is planned once (planning a four-table join costs more than running
    # it). Set DB_PREPARED_STATEMENTS=0 behind a transaction-mode pooler (PgBouncer
    # before 1.21), which cannot keep a prepared statement with its connection.
    # Added to what DATABASE_URL's query string sets (sslmode, connect_timeout, ...).
    if os.environ.get("DB_PREPARED_STATEMENTS", "1") != "0":
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            server_side_binding=True, prepare_threshold=5
        )
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers work while one writer commits; synchronous=FULL makes every
    # acknowledged commit durable across a power cut; IMMEDIATE transactions avoid
    # "database is locked" upgrades from read to write locks. Connections are kept
    # per thread (DB_CONN_MAX_AGE) as on PostgreSQL: opening one re-reads the schema
    # and the WAL index, ~2 ms per request, and closing the last one checkpoints.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        transaction_mode="IMMEDIATE",
        timeout=20,
        init_command=(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
        ),
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "orgs.User"
AUTHENTICATION_BACKENDS = [
    # Refuses logins while a username + IP pair is locked out, then defers.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    # django-allauth: email login (and, through it, SSO accounts).
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "focus"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Vendored files carry their version in their path, so no hashed manifest is
    # needed; whitenoise still serves them compressed.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
# The web app manifest (base.html links it) under its registered media type.
WHITENOISE_MIMETYPES = {".webmanifest": "application/manifest+json"}

# Behind TLS (production): see the block below and landmark/orgs/checks.py.
HTTPS = env_bool("HTTPS")
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG and env_bool("HTTPS"))
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("HTTPS"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)

# Content Security Policy: scripts only from our own origin (htmx and uPlot are
# vendored), no plugins, never framed. Inline style attributes stay allowed: progress
# bars set their width that way.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Login throttling (django-axes): after 5 failures for the same username from the same
# IP address, that pair waits 15 minutes. Keyed by both together, so nobody can lock a
# victim out from elsewhere. Attempts live in the database (SQLite or PostgreSQL).
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(
    minutes=int(os.environ.get("LOGIN_COOLOFF_MINUTES", "15"))
)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# allauth's login form posts the email address in its "login" field and authenticates
# with an "email" credential; the callable reads either, lower-cased (see adapters.py).
AXES_USERNAME_FORM_FIELD = "login"
AXES_USERNAME_CALLABLE = "landmark.orgs.adapters.axes_username"
AXES_RESET_ON_SUCCESS = True
# The same "try again at …" page (429 with Retry-After) as for two-factor codes.
AXES_LOCKOUT_CALLABLE = "landmark.orgs.throttle.password_lockout_response"
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False
# The client address: REMOTE_ADDR, unless TRUSTED_PROXY_COUNT says how many proxies of
# ours add X-Forwarded-For (a spoofed header must not buy fresh attempts). One reading
# for everything that counts by address: allauth's (its rate limits), which django-axes
# and the two-factor code throttle use too.
ALLAUTH_TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))
AXES_CLIENT_IP_CALLABLE = "landmark.orgs.throttle.client_ip"

# Two-factor codes (authenticator app and recovery codes), wherever one is typed: at
# login and when asked again for a code. LOGIN_FAILURE_LIMIT wrong codes for one account
# from one address within LOGIN_COOLOFF_MINUTES refuse codes for that pair until the
# first of them is that old (429 with Retry-After), as for passwords; twice as many from
# all addresses together refuse the account's codes everywhere, so that spreading the
# guesses over many addresses buys little. See landmark/orgs/throttle.py.
CODE_FAILURE_LIMIT = AXES_FAILURE_LIMIT
CODE_ACCOUNT_FAILURE_LIMIT = 2 * AXES_FAILURE_LIMIT
CODE_COOLOFF_TIME = AXES_COOLOFF_TIME

EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "landmark@localhost")
# SMTP, for invitations (used when EMAIL_BACKEND is Django's smtp backend).
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
# Seconds an SMTP connection may wait on the server: a hung server must not hold a job
# worker (nor the claim on its emails) for ever. Django's default is no limit.
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "30"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"jobs": {"format": "[%(asctime)s] %(threadName)s %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler"},
        "jobs": {"class": "logging.StreamHandler", "formatter": "jobs"},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
    "loggers": {
        # The job worker says what it runs (and `landmark.*.tasks` what a job did).
        "huey": {
            "handlers": ["jobs"],
            "level": os.environ.get("JOBS_LOG_LEVEL", "INFO"),
            "propagate": False,
        },
    },
}

# Accounts (django-allauth): email-only login, sign-up creates an organization, mandatory
# email verification, TOTP multi-factor with recovery codes, per-organization OIDC SSO.
# See docs/accounts.md and docs/operators.md.
# Public sign-up (anyone may create an account and an organization) is closed unless
# SIGNUP_OPEN=1; invitations and SSO work either way. `landmark demo` opens it unless
# SIGNUP_OPEN says otherwise (cli.py); the test suite opens it in landmark/conftest.py.
SIGNUP_OPEN = env_bool("SIGNUP_OPEN", False)
ACCOUNT_ADAPTER = "landmark.orgs.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "landmark.orgs.adapters.SocialAccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_FORMS = {
    "signup": "landmark.orgs.forms.SignupForm",
    # Changing or resetting the password asks whether to revoke the API tokens too.
    "change_password": "landmark.api.forms.ChangePasswordForm",
    "set_password": "landmark.api.forms.SetPasswordForm",
    "reset_password_from_key": "landmark.api.forms.ResetPasswordKeyForm",
}
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
# Changing the password logs out every other browser (Django drops sessions whose
# password hash is stale) and keeps this one.
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
# Sessions last SESSION_COOKIE_AGE, as before allauth (no "remember me" box).
ACCOUNT_SESSION_REMEMBER = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Landmark] "
# No page tells a visitor whether an address has an account: sign-up with a taken
# address answers "check your email" and mails the address's owner instead, and the
# password reset page answers the same for every address.
ACCOUNT_PREVENT_ENUMERATION = True
# allauth's rate limits (kept in the cache, per process), merged with its defaults.
ACCOUNT_RATE_LIMITS = {
    # django-axes throttles failed logins by username and IP *together*; allauth's
    # per-address limit would let anyone lock a victim out from elsewhere. (allauth
    # also counts wrong two-factor codes under this name; throttle.py does that.)
    "login_failed": False,
    "signup": "10/m/ip",
    # Password reset requests: per client address, and per typed address (whether or
    # not it has an account, so the limit itself reveals nothing).
    "reset_password": "10/m/ip,5/h/key",
}
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if env_bool("HTTPS") else "http"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_FORMS = {
    # Code entry throttled per account and address (landmark/orgs/throttle.py).
    "authenticate": "landmark.orgs.forms.AuthenticateForm",
    "reauthenticate": "landmark.orgs.forms.ReauthenticateForm",
    # Turning the authenticator off asks whether to revoke the API tokens too.
    "deactivate_totp": "landmark.api.forms.DeactivateTOTPForm",
}
MFA_TOTP_ISSUER = os.environ.get("MFA_TOTP_ISSUER", "Landmark")
MFA_RECOVERY_CODE_COUNT = 10
# Also accept the code of the 30-second step before or after (phone clocks drift).
MFA_TOTP_TOLERANCE = 1
# SSO apps are rows (one per organization, made on /settings/sso/), never settings.
SOCIALACCOUNT_PROVIDERS: dict[str, dict[str, object]] = {}
SOCIALACCOUNT_ONLY = False
# A provider never logs in an existing account by its address (the adapter refuses
# too): only accounts it created or that their owner linked (docs/accounts.md).
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = False
# Linking (or unlinking) an SSO identity asks for the password again (allauth's
# reauthentication), on top of the adapter's rule that only a password session links.
SOCIALACCOUNT_REAUTHENTICATION_REQUIRED = True
SOCIALACCOUNT_LOGIN_ON_GET = False
# SSO domains are proven with a DNS TXT record (landmark/lib/domains.py). The
# nameservers asked ("ip" or "ip:port", comma-separated); empty: the system's resolver.
DOMAIN_VERIFICATION_NAMESERVERS = [
    entry.strip()
    for entry in os.environ.get("DOMAIN_VERIFICATION_NAMESERVERS", "").split(",")
    if entry.strip()
]
# Pages whose form leads on to an identity provider ("Sign in with SSO", a provider's
# "Continue" page) let the browser follow the redirect to another origin: CSP's
# form-action also governs redirects after a submit. Plain http only without HTTPS.
SSO_FORM_ACTION = ["https:"] if env_bool("HTTPS") else ["https:", "http:"]
DOMAIN_VERIFICATION_TIMEOUT = float(os.environ.get("DOMAIN_VERIFICATION_TIMEOUT", "5"))

# Outbound requests to any URL an organization sets (its SSO issuer and the endpoints
# the issuer's discovery document names; webhooks and connectors later) go through
# one SSRF guard, landmark/lib/outbound.py. See docs/operators.md, "Outbound requests".
# Host names, IP addresses or networks (CIDR) that may be private or local, e.g. an
# identity provider inside your network: "sso.corp.internal,10.1.2.0/24".
OUTBOUND_ALLOWED_HOSTS = env_list("OUTBOUND_ALLOWED_HOSTS", "")
OUTBOUND_HTTPS_ONLY = env_bool("OUTBOUND_HTTPS_ONLY", env_bool("HTTPS"))
# DNS servers ("ip", "ip:port") that outbound host names are resolved with; empty:
# the system's resolver.
OUTBOUND_NAMESERVERS = env_list("OUTBOUND_NAMESERVERS", "")
OUTBOUND_TIMEOUT = float(
    os.environ.get("OUTBOUND_TIMEOUT", os.environ.get("SSO_REQUESTS_TIMEOUT", "5"))
)
OUTBOUND_MAX_BYTES = int(os.environ.get("OUTBOUND_MAX_BYTES", "1000000"))
OUTBOUND_MAX_REDIRECTS = int(os.environ.get("OUTBOUND_MAX_REDIRECTS", "3"))
SOCIALACCOUNT_REQUESTS_TIMEOUT = OUTBOUND_TIMEOUT

# KPI connectors (docs/connectors.md). Hosts, addresses or networks that connectors
# alone may reach although private or local (your own database, an intranet API):
# "db.internal,10.0.0.0/8,127.0.0.1". SQLite files only under these directories.
CONNECTOR_ALLOWED_HOSTS = env_list("LANDMARK_CONNECTOR_ALLOW_HOSTS", "")
CONNECTOR_SQLITE_DIRS = env_list("LANDMARK_CONNECTOR_SQLITE_DIRS", "")
CONNECTOR_TIMEOUT = float(os.environ.get("LANDMARK_CONNECTOR_TIMEOUT", "30"))
CONNECTOR_MAX_ROWS = int(os.environ.get("LANDMARK_CONNECTOR_MAX_ROWS", "100000"))
# Runs of one organization's connectors at once; failures in a row before the KPI
# shows "connector failing" and its owner is told.
CONNECTOR_CONCURRENCY = int(os.environ.get("LANDMARK_CONNECTOR_CONCURRENCY", "2"))
CONNECTOR_FAILURES_ALERT = int(os.environ.get("LANDMARK_CONNECTOR_FAILURES_ALERT", "3"))

# Secrets at rest (SSO client secrets; webhook and connector secrets later) are
# encrypted with Fernet (landmark/lib/encryption.py). ENCRYPTION_KEYS: Fernet keys,
# comma-separated, newest first; the newest encrypts, all decrypt. Unset: a key derived
# from SECRET_KEY. Rotate, then `landmark manage reencrypt_secrets`. docs/operators.md.
ENCRYPTION_KEYS = env_list("ENCRYPTION_KEYS", "")

# API rate limit (landmark/api/auth.py): each API token may send API_RATE_LIMIT requests
# per API_RATE_WINDOW seconds; more get 429 with Retry-After. Counted in the database.
API_RATE_LIMIT = int(os.environ.get("API_RATE_LIMIT", "600"))
API_RATE_WINDOW = int(os.environ.get("API_RATE_WINDOW", "60"))

# The base address of this Landmark, for links in emails sent by background jobs (no
# request to read it from). `landmark serve` and `landmark demo` default it to the
# address they serve on.
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# Jobs (landmark/jobs, docs/operators.md#jobs): a Huey queue. By default its SQLite
# storage in the data directory, so one machine needs no other server; with REDIS_URL,
# Redis, so any number of workers on any number of machines share one queue.
# `landmark serve` and `landmark demo` start a worker beside the web server unless
# --no-worker; `landmark worker` runs workers alone.
REDIS_URL = os.environ.get("REDIS_URL", "")
JOB_WORKERS = int(os.environ.get("JOB_WORKERS", "2"))
HUEY: dict[str, object] = {
    # Several deployments may share one Redis: each names its own queue.
    "name": os.environ.get("JOBS_QUEUE", "landmark"),
    "huey_class": "huey.RedisHuey" if REDIS_URL else "huey.SqliteHuey",
    # Jobs record what they did in the database; huey keeps no results.
    "results": False,
    "utc": True,
    # Never run tasks in the web request (djhuey would when DEBUG is on).
    "immediate": False,
    "connection": (
        dict[str, object](url=REDIS_URL)
        if REDIS_URL
        else dict[str, object](filename=str(DATA_DIR / "jobs.sqlite3"), fsync=True)
    ),
    "consumer": {
        "workers": JOB_WORKERS,
        "worker_type": "thread",
        "periodic": True,
        "check_worker_health": True,
    },
}
# A notification send (an email) claimed by a worker is another worker's to retry once
# this lease is over: a worker killed mid-send loses nothing (docs/notifications.md).
NOTIFY_LEASE_SECONDS = int(os.environ.get("NOTIFY_LEASE_SECONDS", "300"))
