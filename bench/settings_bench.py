"""Settings for the API benchmark's server: Landmark's own settings, plus a
hello-world view at /bench/hello (bench/urls_bench.py) behind the same middleware, and
no per-token rate limit (the benchmark sends thousands of requests with one token).

Never used by the product: only bench/bench_api.py and bench/kill9.py start a server
with DJANGO_SETTINGS_MODULE=settings_bench (with bench/ on PYTHONPATH).
"""

from landmark.settings import *  # noqa: F403  # the product's settings, unchanged but for the lines below

ROOT_URLCONF = "urls_bench"
API_RATE_LIMIT = 1_000_000_000
