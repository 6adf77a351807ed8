"""`django.query` over a real sshd against the sandbox: real Django ORM queries on its
database through `docker exec ... manage.py shell`; read-only enforced by the database."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from runbooks.errors import PlaybookError
from runbooks.lang.parse import parse_playbook
from runbooks.sandbox import Sandbox
from tests.blocks.helpers import run_steps, sandbox_over_ssh

pytest.importorskip("django")


def _q(name: str = "q", **params: Any) -> dict[str, Any]:
    return {"name": name, "kind": "django.query", "params": params}


def _db(sb: Sandbox, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(sb.paths.db) as conn:
        return list(conn.execute(sql))


def test_query_rows_are_the_databases_rows(sandbox_state: Sandbox, tmp_path: Path) -> None:
    sandbox_state.traffic(seed=24, meals=20, hours=2)
    expected = [{"id": i, "status": s} for i, s in _db(sandbox_state, "SELECT id, status FROM nutrition_meal_photos ORDER BY id")]
    assert len(expected) > 3  # the sandbox is seeded
    with sandbox_over_ssh(sandbox_state, tmp_path) as target:
        res = run_steps(target, [
            _q(query="list(MealPhoto.objects.order_by('id').values('id', 'status'))", max_rows=1000),
            _q("n", query="MealPhoto.objects.filter(status=params['status']).count()", vars={"status": "SUCCESS"}),
            _q("cut", query="MealPhoto.objects.order_by('id').values_list('id', flat=True)", max_rows=2),
            _q("stmts", query="done = MealPhoto.objects.filter(status='SUCCESS')\nresult = {'ids': sorted(done.values_list('id', flat=True))}"),
        ], tmp_path)
    assert res.exit_code == 0, res.message
    assert res.facts["q"]["rows"] == expected and res.facts["q"]["count"] == len(expected)
    assert res.facts["q"]["read_only"] == "database"  # SQLite refuses writes, not only the rollback
    assert res.facts["n"]["result"] == sum(1 for r in expected if r["status"] == "SUCCESS")
    assert res.facts["cut"]["rows"] == [r["id"] for r in expected[:2]]
    assert res.facts["cut"]["truncated"] is True and res.facts["cut"]["count"] == len(expected)
    assert res.facts["stmts"]["result"] == {"ids": [r["id"] for r in expected if r["status"] == "SUCCESS"]}


def test_a_configured_shell_command_runs_the_same_query(sandbox_state: Sandbox, tmp_path: Path) -> None:
    backend = sandbox_state.config.backend_container
    shell = ["docker", "exec", "-i", backend, "python", "manage.py", "shell", "--no-imports"]
    with sandbox_over_ssh(sandbox_state, tmp_path) as target:
        res = run_steps(target, [_q(query="sorted(m._meta.db_table for m in apps.get_models() "
                                          "if m._meta.app_label == 'nutrition')", shell=shell)], tmp_path)
    assert res.exit_code == 0, res.message
    assert "nutrition_meal_photos" in res.facts["q"]["rows"] and "nutrition_meals" in res.facts["q"]["rows"]


def test_a_bad_field_fails_the_step_with_djangos_error(sandbox_state: Sandbox, tmp_path: Path) -> None:
    with sandbox_over_ssh(sandbox_state, tmp_path) as target:
        res = run_steps(target, [_q(query="list(MealPhoto.objects.filter(no_such_field=1).values('id'))")], tmp_path)
    assert res.exit_code == 2 and res.steps[0].status == "failed"
    assert "FieldError" in res.steps[0].message and "no_such_field" in res.steps[0].message
    assert "rows" not in res.facts["q"]  # an error, never an empty result


RAW_UPDATE = ("from django.db import connection\nc = connection.cursor()\n"
              "c.execute(\"UPDATE nutrition_meal_photos SET status = 'FAILED'\")\nresult = c.rowcount")


@pytest.mark.parametrize("query", ["MealPhoto.objects.update(status='FAILED')", RAW_UPDATE])
def test_a_write_is_refused_and_nothing_changes(sandbox_state: Sandbox, tmp_path: Path, query: str) -> None:
    sandbox_state.traffic(seed=24, meals=5, hours=1)
    before = _db(sandbox_state, "SELECT id, status FROM nutrition_meal_photos ORDER BY id")
    assert before and any(status != "FAILED" for _, status in before)
    with sandbox_over_ssh(sandbox_state, tmp_path) as target:
        res = run_steps(target, [_q(query=query)], tmp_path)
    assert res.steps[0].status == "failed" and "attempt to write a readonly database" in res.steps[0].message
    assert _db(sandbox_state, "SELECT id, status FROM nutrition_meal_photos ORDER BY id") == before


def test_no_django_there_is_a_failed_step_not_a_result(sandbox_state: Sandbox, tmp_path: Path) -> None:
    with sandbox_over_ssh(sandbox_state, tmp_path) as target:
        res = run_steps(target, [_q(query="1", container="no-such-container")], tmp_path)
    assert res.steps[0].status == "failed" and "printed no RUNBOOKS_RESULT line" in res.steps[0].message


@pytest.mark.parametrize(("params", "error"), [
    ({"query": "list(Meal.objects.all("}, r"query: Python syntax error at line 1"),
    ({"query": "x = 1"}, "query: statements must set `result`"),
    ({"query": ""}, "query: required"),
    ({"query": "1", "role": "backend", "container": "c"}, "container: give one of"),
    ({"query": "1", "max_rows": 0}, "max_rows: must be"),
    ({"query": "1", "shell": "python manage.py shell"}, "shell: must be a non-empty list"),
])
def test_bad_params_are_refused_before_anything_runs(params: dict[str, Any], error: str) -> None:
    with pytest.raises(PlaybookError, match=r"steps\.q\.params\." + error):
        parse_playbook({"name": "p", "steps": [_q(**params)]}, "p.yml")
