"""Settings read from the environment keep what the operator set."""

import os
import subprocess
import sys
from pathlib import Path

import pytest


def settings_in_a_fresh_process(code: str, data_dir: Path, **env: str) -> str:
    env = {"LANDMARK_DATA_DIR": str(data_dir), **env}
    out = subprocess.run(  # noqa: S603  # this interpreter, fixed code
        [sys.executable, "-c", f"from django.conf import settings; {code}"],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "landmark.settings", **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


@pytest.mark.parametrize(
    "prepared, expected", [("1", "require True 5"), ("0", "require None None")]
)
def test_database_url_options_are_kept_beside_prepared_statements(
    prepared, expected, tmp_path
):
    """sslmode=require from DATABASE_URL must survive the PostgreSQL options Landmark
    adds (it was once replaced, silently allowing unencrypted connections)."""
    printed = settings_in_a_fresh_process(
        "o = settings.DATABASES['default']['OPTIONS']; "
        "print(o.get('sslmode'), o.get('server_side_binding'), "
        "o.get('prepare_threshold'))",
        tmp_path,
        DATABASE_URL="postgres://u@db.example/landmark?sslmode=require",
        DB_PREPARED_STATEMENTS=prepared,
    )
    assert printed == expected
