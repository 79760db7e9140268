"""More than 60,000 evaluation ids on a SQLite-backed instance.

This machine's SQLite allows far more bound variables per statement than
builds with the upstream default limit (32,766), so the limit is imposed on
every SQLite connection Dagster opens. With it, one add_dynamic_partitions
call of all 60,600 keys fails (shown below), and the chunked registration
passes: that is what this test proves; it does not measure other SQLite
builds or other storages."""

from __future__ import annotations

import sqlite3

import pytest
import sqlalchemy
from conftest import materialize, partitions, union_of_memberships, write_repo

from cohort_dsl_dagster import build_definitions

LIMIT = 32_766
# 20 combos x 30 essay templates x 101 evaluation templates: 60,600 evaluations
SPEC = """axes:
  combo_id: {combos}
  draft_template: [d1]
  draft_llm: [m1]
  essay_template: {essays}
  essay_llm: [m1]
  evaluation_template: {evaluations}
  evaluation_llm: [j1]
""".format(combos=[f"c{i}" for i in range(20)], essays=[f"e{i}" for i in range(30)],
           evaluations=[f"v{i}" for i in range(101)]).replace("'", "")


@pytest.fixture
def variable_limit():
    def impose(connection, _record):
        if isinstance(connection, sqlite3.Connection):
            connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, LIMIT)

    sqlalchemy.event.listen(sqlalchemy.engine.Engine, "connect", impose)
    yield
    sqlalchemy.event.remove(sqlalchemy.engine.Engine, "connect", impose)


def test_sixty_thousand_evaluation_ids_are_added_in_chunks(tmp_path, variable_limit, sqlite_instance, monkeypatch):
    data_root = write_repo(tmp_path / "repo", {"wide": SPEC})
    calls: list[tuple[str, int]] = []
    add = sqlite_instance.add_dynamic_partitions

    def counted(name, keys):
        calls.append((name, len(keys)))
        return add(name, keys)

    monkeypatch.setattr(sqlite_instance, "add_dynamic_partitions", counted)
    defs = build_definitions(data_root, chunk_size=10_000)
    assert materialize(defs, "wide", sqlite_instance).success
    expected = union_of_memberships(data_root, ["wide"])
    assert len(expected["evaluation_gens"]) == 60_600
    assert partitions(sqlite_instance) == expected
    assert [n for name, n in calls if name == "evaluation_gens"] == [10_000] * 6 + [600]
    assert max(n for _, n in calls) <= 10_000

    calls.clear()
    assert materialize(defs, "wide", sqlite_instance).success  # a re-run sends nothing
    assert calls == [] and partitions(sqlite_instance) == expected

    # The imposed limit is real: all the keys in one call are refused.
    with pytest.raises(sqlalchemy.exc.OperationalError):
        add("probe_gens", [f"p{i}" for i in range(LIMIT + 1)])
