"""What gunicorn's master prepares before it forks workers: gunicorn.conf.py's hooks, webapp.wsgi."""

import gc
import os
import runpy
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "gunicorn.conf.py"


def test_the_master_freezes_what_it_built_before_each_fork():
    """Workers' garbage collections skip the preloaded app: a full one of it paused requests 25-30 ms."""
    hooks = runpy.run_path(str(CONF))
    gc.unfreeze()
    built = [[]]  # something the master made before forking (a list: the collector tracks it)
    try:
        hooks["pre_fork"](None, None)
        assert gc.get_freeze_count() > 0
        gc.collect()
        assert not any(found is built for found in gc.get_objects())  # out of the collector's sight
    finally:
        gc.unfreeze()


def test_the_production_entry_point_compiles_every_template_before_the_workers_fork(tmp_path):
    """A worker (one replaced after max_requests too) starts with the templates compiled: compiling them
    during its first requests took 150 ms."""
    env = {name: value for name, value in os.environ.items() if name != "APP_ENV"}
    env.update(APP_ENV="test", DATABASE_URL=f"sqlite:///{tmp_path / 'portal.sqlite3'}", PYTHONPATH=str(ROOT))
    script = (
        "from webapp.wsgi import app\n"
        "print(len(app.jinja_env.cache), len(app.jinja_env.list_templates()))\n"  # compiled ones are cached
    )
    result = subprocess.run(  # noqa: S603 - our own code
        [sys.executable, "-c", script], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    compiled, templates = map(int, result.stdout.split())
    assert templates > 50 and compiled == templates
