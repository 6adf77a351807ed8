"""The git repo standing for the project dir (``/opt/eatfit24``): compose.yml, stand-in
sources and a short history whose commits (fixed author and dates, so fixed SHAs) include
"feat: server-safe cancel", the one a rollback reverts."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from runbooks.sandbox.paths import SandboxConfig

AUTHOR = ("Eatfit24 Dev", "dev@eatfit24.example")


def compose_yml(config: SandboxConfig) -> str:
    lines = [f"name: {config.project_name}", "services:"]
    for s in config.services:
        lines.append(f"  {s}:")
        if s in (config.backend_service, config.worker_service, "celery-beat"):
            lines += ["    build: ./backend", "    env_file: .env", "    restart: unless-stopped"]
        if s == config.backend_service:
            lines += ["    command: gunicorn config.wsgi:application --bind 0.0.0.0:8000 --workers 3",
                      "    ports: [\"127.0.0.1:8000:8000\"]"]
        elif s == config.worker_service:
            lines += [f"    command: {config.worker_cmdline}",
                      f"    restart: \"{config.worker_restart_policy}\""]
        elif s == "celery-beat":
            lines += ["    command: celery -A config beat -l INFO"]
        elif s == "db":
            lines += ["    image: postgres:16-alpine"]
        elif s == "redis":
            lines += ["    image: redis:7-alpine"]
        else:
            lines += [f"    build: ./{s}"]
    return "\n".join(lines) + "\n"


TASKS_V1 = '''"""AI recognition task (stand-in of eatfit24's apps/ai/tasks.py)."""
from celery import shared_task


@shared_task(bind=True, queue="ai")
def recognize_food_async(self, meal_photo_id):
    photo = MealPhoto.objects.get(id=meal_photo_id)
    result = recognize(photo)
    save_results(photo, result)
    finalize_meal(photo.meal_id)
'''
TASKS_V2 = '''"""AI recognition task (stand-in of eatfit24's apps/ai/tasks.py)."""
from celery import shared_task
from django.db import transaction


@shared_task(bind=True, queue="ai")
def recognize_food_async(self, meal_photo_id):
    result = recognize(MealPhoto.objects.get(id=meal_photo_id))
    with transaction.atomic():
        photo = MealPhoto.objects.select_for_update().get(id=meal_photo_id)
        Meal.objects.select_for_update().get(id=photo.meal_id)
        if photo.status in ("CANCELLED", "FAILED"):
            logger.warning("[AI] Photo %s is in terminal state %s, discarding results "
                           "(race condition guard)", photo.id, photo.status)
        else:
            save_results(photo, result)
        finalize_meal(photo.meal_id)
'''
SERIALIZERS_V1 = '''class MealSerializer(serializers.ModelSerializer):
    def get_photos(self, meal):
        return MealPhotoSerializer(meal.photos.all(), many=True).data
'''
SERIALIZERS_V2 = '''class MealSerializer(serializers.ModelSerializer):
    def get_photos(self, meal):
        return MealPhotoSerializer(meal.photos.filter(status="SUCCESS"), many=True).data
'''
CANCEL_VIEW = '''"""POST /api/v1/ai/cancel/ (stand-in)."""


class CancelView(APIView):
    def post(self, request):
        ...  # RECEIVED, DUPLICATE, REVOKED, UPDATED_PHOTOS, EVENT_SAVED, NOOP, PROCESSED
'''


def _history(config: SandboxConfig) -> list[tuple[str, dict[str, str | None]]]:
    return [
        ("chore: initial import", {"compose.yml": compose_yml(config), ".gitignore": ".env\n*.pyc\n",
                                   "README.md": "# eatfit24\n\nDeployed with `docker compose up -d`.\n",
                                   "backend/manage.py": "# stand-in\n",
                                   "backend/apps/ai/tasks.py": TASKS_V1,
                                   "backend/apps/nutrition/serializers.py": SERIALIZERS_V1}),
        ("fix: serializer returns SUCCESS photos only", {"backend/apps/nutrition/serializers.py": SERIALIZERS_V2}),
        ("feat: server-safe cancel", {"backend/apps/ai/tasks.py": TASKS_V2,
                                      "backend/apps/ai/views.py": CANCEL_VIEW,
                                      "backend/apps/nutrition/migrations/0042_cancelevent.py": "# CancelEvent\n"}),
        ("docs: monitoring checklist for server-safe cancel",
         {"backend/docs/MONITORING.md": "# Server-safe Cancel: Monitoring Checklist\n"}),
    ]


def git(repo: Path, *args: str, date: str | None = None) -> str:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(repo), "GIT_TERMINAL_PROMPT": "0"}
    if date:
        env.update(GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
    return subprocess.run(
        ["git", "-c", f"user.name={AUTHOR[0]}", "-c", f"user.email={AUTHOR[1]}",
         "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", *args],
        cwd=repo, env=env, check=True, capture_output=True, text=True).stdout


def create(dest: Path, config: SandboxConfig) -> None:
    """Build (once per config, cached in the temp dir) and copy the project repo."""
    key = hashlib.sha256(repr(_history(config)).encode()).hexdigest()[:12]
    cache = Path(tempfile.gettempdir()) / f"runbooks-sandbox-project-{os.getuid()}-{key}"
    if not (cache / ".git").exists():
        build = Path(tempfile.mkdtemp(prefix="project-build-", dir=cache.parent))
        git(build, "init", "-q")
        for i, (message, files) in enumerate(_history(config)):
            for rel, text in files.items():
                path = build / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text or "")
            git(build, "add", "-A")
            git(build, "commit", "-q", "-m", message, date=f"2026-01-{10 + i:02d}T12:00:00+03:00")
        try:
            os.rename(build, cache)
        except OSError:  # another process won the race
            shutil.rmtree(build, ignore_errors=True)
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(cache, dest, symlinks=True)


CONFLICTING_SUBJECT = "fix: recognition retries on provider timeout"
TASKS_V3 = TASKS_V2.replace(
    "    result = recognize(MealPhoto.objects.get(id=meal_photo_id))\n",
    "    try:\n        result = recognize(MealPhoto.objects.get(id=meal_photo_id))\n"
    "    except ProviderTimeout as exc:\n        raise self.retry(exc=exc, countdown=5)\n")


def add_conflicting_commit(repo: Path) -> str:
    """Commit, on top of HEAD, a change to the lines "feat: server-safe cancel" wrote, so
    that reverting that feature no longer applies cleanly (git reports CONFLICT (content)):
    the fixture for a rollback that must be refused before anything is stopped. Returns the
    new HEAD."""
    path = repo / "backend" / "apps" / "ai" / "tasks.py"
    path.write_text(TASKS_V3)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", CONFLICTING_SUBJECT, date="2026-01-15T12:00:00+03:00")
    return git(repo, "rev-parse", "HEAD").strip()
