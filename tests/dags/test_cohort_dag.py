"""A small cohort end to end through dag.test(): clean run green; a fault stops the next hop."""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg2
import pytest
import yaml

from tests.airflow_helpers import asset_events, run_test, task_states

pytestmark = pytest.mark.dags

ROOT = Path(__file__).resolve().parents[2]


def small_cohort(tmp_path: Path, policy_mr2: str = "stop") -> Path:
    """Cohort A's config shrunk to 2 batches of 60 MSISDNs, with a cohort id of its own."""
    config = yaml.safe_load((ROOT / "include/config/cohorts/cohort_a.yaml").read_text())
    cohort_id = f"T{uuid.uuid4().hex[:6]}"
    config["cohort_id"] = cohort_id
    config["env"] = "test"
    # An MSISDN belongs to one cohort: each test's cohort gets a range of its own.
    base = 628110000000 + uuid.uuid4().int % 9000 * 1000
    config["prefixes"] = [
        {
            "prefix_id": "P62811",
            "prefix": "62811",
            "batches": [
                {"batch_id": "B001", "msisdn_start": str(base), "msisdn_end": str(base + 59)},
                {"batch_id": "B002", "msisdn_start": str(base + 60), "msisdn_end": str(base + 119)},
            ],
        }
    ]
    config["stages"]["mini_recon_2"]["policy"] = policy_mr2
    path = tmp_path / f"{cohort_id}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture
def env(slack_receiver):
    return slack_receiver


def build(path: Path):
    from recon_operators.config.cohorts import load_cohort
    from recon_operators.demo.load_operators import DEMO_LOADS
    from recon_operators.factories.cohort import build_cohort_dag

    return build_cohort_dag(load_cohort(path), DEMO_LOADS)


def decisions(store_dsn: str, cohort_id: str) -> dict[str, str]:
    conn = psycopg2.connect(store_dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT stage, outcome FROM recon.gate_decision WHERE scope->>'cohort_id' = %s ORDER BY id",
                (cohort_id,),
            )
            return dict(cur.fetchall())
    finally:
        conn.close()


def test_dag_structure_follows_the_hops(tmp_path):
    dag = build(small_cohort(tmp_path))
    order = [
        "land_demo_sources",
        "load_transform",
        "gate_mini_recon_1",
        "load_stage",
        "gate_mini_recon_2",
        "load_target",
        "gate_mini_recon_3",
        "gate_overall_summary",
        "recon_outcome",
    ]
    for before, after in zip(order, order[1:]):
        assert after in dag.get_task(before).get_flat_relative_ids(upstream=False), (before, after)
    chains = [
        [
            "load_transform",
            "mini_recon_1__batch_report",
            "mini_recon_1__wait_prefix_batches",
            "mini_recon_1__prefix_summary",
            "gate_mini_recon_1",
        ],
        ["load_stage", "mini_recon_2__report", "gate_mini_recon_2"],
        [
            "load_target",
            "mini_recon_3__data_prep",
            "mini_recon_3__wait_prefix_batches",
            "mini_recon_3__prefix_summary",
            "gate_mini_recon_3",
        ],
        ["wait_brm_extract", "mini_recon_3__data_prep_brm", "mini_recon_3__prefix_summary_brm", "gate_mini_recon_3"],
        [
            "gate_mini_recon_3",
            "overall_summary__report",
            "gate_overall_summary",
            "etl_stage_report__report",
            "gate_etl_stage_report",
            "recon_outcome",
        ],
    ]
    for chain in chains:
        for before, after in zip(chain, chain[1:]):
            assert after in dag.get_task(before).get_direct_relative_ids(upstream=False), (before, after)
    for stage in ("mini_recon_1", "mini_recon_3"):
        wait = dag.get_task(f"{stage}__wait_prefix_batches")
        assert wait.operator_class.__name__ == "LedgerSensor" and wait.partial_kwargs["require"] == "present"
        assert wait.expand_input.value.arg.operator.task_id == "select_prefixes"  # one per prefix
    assert dag.get_task("recon_outcome").trigger_rule == "all_done"
    sensor = dag.get_task("wait_brm_extract")
    assert (
        sensor.deferrable and sensor.key == f"test/{dag.dag_id.removeprefix('recon_cohort_')}/brm_balances/part-*.csv"
    )
    assert "mini_recon_3__cohort_mini_recon_3_brm" in sensor.get_direct_relative_ids(upstream=False)
    assert "wait_brm_extract" in dag.get_task("load_target").get_direct_relative_ids(upstream=False)
    assert dag.get_task("select_batches").scopes[1]["batch_id"] == "B002"
    assert "prepare_layers" in dag.get_task("select_batches").get_direct_relative_ids(upstream=False)
    assert "load_transform" in dag.get_task("prepare_layers").get_direct_relative_ids(upstream=False)


def test_the_graph_reads_as_the_hop_chain(tmp_path):
    """One TaskGroup per hop (the 8 steps), then recon_outcome; task ids keep no group prefix."""
    dag = build(small_cohort(tmp_path))
    groups = {key: child for key, child in dag.task_group.children.items() if key != "recon_outcome"}
    assert [g.group_display_name for g in groups.values()] == [
        "Transform",
        "Mini Recon 1",
        "Stage",
        "Mini Recon 2",
        "Target",
        "Mini Recon 3",
        "Overall",
        "ETL report",
    ]
    assert list(dag.task_group.children) == [*groups, "recon_outcome"]
    members = {key: {t.task_id for t in group} for key, group in groups.items()}
    assert {"select_batches", "prepare_layers", "land_demo_sources", "load_transform"} <= members["transform"]
    assert {"wait_brm_extract", "gate_mini_recon_3"} <= members["mini_recon_3"] and members["stage"] == {"load_stage"}
    for before, after in zip(list(groups), list(groups)[1:]):  # each hop starts from the one before it
        assert any(t.upstream_task_ids & members[before] for t in groups[after]), (before, after)


def test_clean_cohort_passes_every_gate(env, tmp_path, store_dsn):
    path = small_cohort(tmp_path)
    dag = build(path)
    run = run_test(dag, run_conf={"faults": []})
    states = task_states(run)
    assert run.state == "success", states
    cohort_id = path.stem
    assert decisions(store_dsn, cohort_id) == {
        "mini_recon_1": "Passed",
        "mini_recon_2": "Passed",
        "mini_recon_3": "Passed",
        "overall_summary": "Passed",
        "etl_stage_report": "Passed",
    }
    assert env.bodies == []
    # Each gate that passed says so as an Airflow Asset event (a cutover DAG can be scheduled on it).
    events = asset_events(run)
    assert {uri: extra["outcome"] for uri, extra in events.items()} == {
        f"x-recon://test/{cohort_id}/{stage}": "Passed"
        for stage in ("mini_recon_1", "mini_recon_2", "mini_recon_3", "overall_summary", "etl_stage_report")
    }
    assert events[f"x-recon://test/{cohort_id}/mini_recon_3"]["run_id"] == run.run_id


def test_fault_at_stage_stops_before_target(env, tmp_path, store_dsn):
    path = small_cohort(tmp_path)
    run = run_test(
        build(path), run_conf={"faults": [{"stage": "stage", "kind": "drop", "dataset": "subscribers", "n": 2}]}
    )
    states = task_states(run)
    assert states["gate_mini_recon_2"] == "failed" and states["load_target"] == "upstream_failed", _debug_failed(
        store_dsn, path.stem
    )
    assert states["recon_outcome"] == "failed" and run.state == "failed"
    assert decisions(store_dsn, path.stem) == {"mini_recon_1": "Passed", "mini_recon_2": "Blocked"}
    # One alert: the gate's own; the failure callback stays quiet for the gate it stopped.
    assert len(env.bodies) == 1 and "Blocked" in env.bodies[0]["text"]
    assert list(asset_events(run)) == [f"x-recon://test/{path.stem}/mini_recon_1"]  # nothing verified after


def _debug_failed(store_dsn, cohort_id):
    conn = psycopg2.connect(store_dsn)
    with conn.cursor() as cur:
        cur.execute(
            "SELECT stage, suite, check_name, group_key, expected, actual, message FROM recon.check_result"
            " WHERE cohort_id = %s AND status <> 'Match'",
            (cohort_id,),
        )
        rows = cur.fetchall()
    conn.close()
    return rows


def test_every_shipped_cohort_becomes_a_dag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert not bag.import_errors
    assert {"recon_cohort_A", "recon_cohort_B"} <= set(bag.dag_ids)


def test_a_bad_cohort_file_is_one_clear_import_error(tmp_path, monkeypatch):
    import shutil

    from airflow.dag_processing.dagbag import DagBag

    config = tmp_path / "config"
    shutil.copytree(ROOT / "include/config", config)
    bad = yaml.safe_load((config / "cohorts/cohort_b.yaml").read_text())
    bad["stages"]["mini_recon_1"]["policy"] = "maybe"
    (config / "cohorts/cohort_b.yaml").write_text(yaml.safe_dump(bad))
    monkeypatch.setenv("RECON_CONFIG_DIR", str(config))
    bag = DagBag(dag_folder=str(ROOT / "dags" / "recon_cohorts.py"))
    assert not bag.dags
    (error,) = bag.import_errors.values()
    assert "cohort 'B'" in error and "stages.mini_recon_1.policy" in error


def test_rerunning_a_cohort_replaces_its_own_rows(env, tmp_path, store_dsn, databases):
    from recon_operators.demo.services import pg_dsn

    path = small_cohort(tmp_path)
    cohort_id = path.stem

    def counts() -> tuple[int, int, int, int]:
        store = psycopg2.connect(store_dsn)
        target = psycopg2.connect(pg_dsn(databases["target"]))
        transform = psycopg2.connect(pg_dsn(databases["transform"]))
        try:
            with store.cursor() as cur:
                cur.execute("SELECT count(*) FROM recon.check_result WHERE cohort_id = %s", (cohort_id,))
                results = cur.fetchone()[0]
                cur.execute("SELECT count(*) FROM recon.check_result_history WHERE cohort_id = %s", (cohort_id,))
                history = cur.fetchone()[0]
            with target.cursor() as cur:
                cur.execute("SELECT count(*) FROM target.subscribers WHERE cohort_id = %s", (cohort_id,))
                subscribers = cur.fetchone()[0]
            with transform.cursor() as cur:  # only migratable subscribers migrate; the rest are recorded
                cur.execute(
                    "SELECT count(*) FROM transform.non_migratable_subscribers WHERE cohort_id = %s", (cohort_id,)
                )
                excluded = cur.fetchone()[0]
        finally:
            store.close()
            target.close()
            transform.close()
        return results, history, subscribers, excluded

    assert run_test(build(path), run_conf={"faults": []}).state == "success"
    first = counts()
    assert first[0] > 0 and first[1] == 0 and first[2] + first[3] == 120 and first[2] > 100
    assert run_test(build(path), run_conf={"faults": []}).state == "success"
    second = counts()
    assert second[0] == first[0] and second[2:] == first[2:]  # replaced, not duplicated
    assert second[1] == first[0]  # the first run's results moved to history


def mapped_values(dag, task_id: str, name: str) -> list:
    """What a mapped task's ``name`` argument becomes per batch: select_batches' scopes, mapped."""
    arg = dag.get_task(task_id).expand_input.value[name]
    assert arg.arg.operator.task_id == "select_batches"
    values = dag.get_task("select_batches").scopes
    for transform in arg.callables:
        values = [transform(value) for value in values]
    return values


def test_one_batch_is_rerun_through_the_run_conf(env, tmp_path, store_dsn):
    path = small_cohort(tmp_path)

    def runs_per_batch() -> dict[str, str]:
        store = psycopg2.connect(store_dsn)
        try:
            with store.cursor() as cur:
                cur.execute(
                    "SELECT batch_id, min(run_id) FROM recon.check_result WHERE cohort_id = %s"
                    " AND suite = 'cohort_mini_recon_1' GROUP BY batch_id",
                    (path.stem,),
                )
                return dict(cur.fetchall())
        finally:
            store.close()

    assert run_test(build(path), run_conf={"faults": []}).state == "success"
    first = runs_per_batch()
    run = run_test(build(path), run_conf={"faults": [], "batch_ids": ["P62811/B002"]})
    assert run.state == "success", task_states(run)
    assert task_states(run)["mini_recon_1__prefix_summary"] == "success"
    second = runs_per_batch()
    assert second["B001"] == first["B001"]  # untouched: the rerun covered B002 only
    assert second["B002"] != first["B002"] and run.run_id in second["B002"]


def test_a_partial_run_of_a_prefix_never_run_names_the_missing_batch(env, tmp_path, store_dsn):
    path = small_cohort(tmp_path)
    run = run_test(build(path), run_conf={"faults": [], "batch_ids": ["B002"]})
    states = task_states(run)
    assert states["mini_recon_1__batch_report"] == "success"
    assert states["mini_recon_1__prefix_summary"] == "failed" and states["load_stage"] == "upstream_failed"
    assert run.state == "failed"
    store = psycopg2.connect(store_dsn)
    try:
        with store.cursor() as cur:
            cur.execute(
                """SELECT error FROM "Migration".log_table WHERE cohort_id = %s AND status = 'Failed'""", (path.stem,)
            )
            errors = [r[0] for r in cur.fetchall()]
    finally:
        store.close()
    assert any("no Mini Recon 1 report" in e and "B001" in e for e in errors), errors


def test_a_run_naming_an_unknown_batch_fails_before_loading(env, tmp_path):
    path = small_cohort(tmp_path)
    run = run_test(build(path), run_conf={"faults": [], "batch_ids": ["B999"]})
    states = task_states(run)
    assert states["select_batches"] == "failed" and states["load_transform"] == "upstream_failed"
    assert run.state == "failed"
    (alert,) = [body["text"] for body in env.bodies]  # a task without a scope still names the cohort
    assert f"cohort *{path.stem}*" in alert and "task `select_batches`" in alert and "B999" in alert


def test_failed_mapped_loads_alert_naming_cohort_stage_batch_and_task(env, tmp_path):
    """Regression: alerts of failed tasks read the scope from params or XCom only, and a mapped
    task's scope is an argument, so they said "cohort *-*, stage *-*"."""
    path = small_cohort(tmp_path)
    run = run_test(build(path), run_conf={"faults": [{"stage": "transform", "kind": "melt", "dataset": "balances"}]})
    assert run.state == "failed"
    loads = [ti for ti in run.get_task_instances() if ti.task_id == "load_transform"]
    assert sorted((ti.map_index, str(ti.state), ti.try_number) for ti in loads) == [
        (0, "failed", 1),
        (1, "failed", 1),
    ]  # a bad conf fails at once: a retry cannot fix it
    texts = [body["text"] for body in env.bodies]
    assert len(texts) == 2, texts
    for index, batch in enumerate(("B001", "B002")):
        (text,) = [t for t in texts if f"task `load_transform[{index}]`" in t]
        assert f"cohort *{path.stem}*, stage *transform*, batch *P62811/{batch}*" in text, text
        assert "kind 'melt'" in text


def test_spark_load_step_becomes_a_spark_submit_per_batch(tmp_path):
    path = small_cohort(tmp_path)
    config = yaml.safe_load(path.read_text())
    config["stages"]["transform"]["load"] = {
        "kind": "spark",
        "application": "/jobs/transform.py",
        "conn_id": "spark_cluster",
        "arguments": {"--mode": "full"},
    }
    path.write_text(yaml.safe_dump(config))
    dag = build(path)
    task = dag.get_task("load_transform")
    args = mapped_values(dag, "load_transform", "application_args")
    assert task.operator_class.__name__ == "SparkSubmitOperator" and len(args) == 2
    assert (
        task.partial_kwargs["conn_id"] == "spark_cluster" and task.partial_kwargs["application"] == "/jobs/transform.py"
    )
    assert args[1][args[1].index("--batch_id") + 1] == "B002" and args[1][-2:] == ["--mode", "full"]


def test_production_load_steps_become_glue_runs_and_dag_triggers(tmp_path):
    path = small_cohort(tmp_path)
    config = yaml.safe_load(path.read_text())
    config["stages"]["transform"]["load"] = {
        "kind": "glue",
        "job_name": "legacy_to_transform",
        "arguments": {"--mode": "full"},
    }
    config["stages"]["stage"]["load"] = {"kind": "trigger_dag", "dag_id": "stage_loader", "conf": {"dry_run": False}}
    path.write_text(yaml.safe_dump(config))
    dag = build(path)
    glue = dag.get_task("load_transform")
    args = mapped_values(dag, "load_transform", "script_args")
    assert glue.operator_class.__name__ == "GlueJobOperator" and len(args) == 2
    assert args[1]["--batch_id"] == "B002" and args[1]["--mode"] == "full" and args[1]["--cohort_id"] == path.stem
    trigger = dag.get_task("load_stage")
    conf = mapped_values(dag, "load_stage", "conf")
    assert trigger.operator_class.__name__ == "TriggerDagRunOperator"
    assert conf[0]["msisdn_start"] < conf[1]["msisdn_start"] and conf[0]["dry_run"] is False
    assert "gate_mini_recon_1" in dag.get_task("mini_recon_1__cohort_mini_recon_1").get_direct_relative_ids(
        upstream=False
    )


def test_production_cohorts_build_without_demo_steps_and_builtin_ones_need_them(tmp_path):
    """The factory imports no demo code: built-in loads come only from what the DAG file hands in."""
    from recon_operators.config.cohorts import load_cohort
    from recon_operators.factories.cohort import build_cohort_dag

    path = small_cohort(tmp_path)
    with pytest.raises(ValueError, match=f"cohort {path.stem}: load kind builtin needs the built-in load steps"):
        build_cohort_dag(load_cohort(path))
    config = yaml.safe_load(path.read_text())
    for hop in ("transform", "stage", "target"):
        config["stages"][hop]["load"] = {"kind": "trigger_dag", "dag_id": f"{hop}_loader"}
    path.write_text(yaml.safe_dump(config))
    dag = build_cohort_dag(load_cohort(path))
    assert "faults" not in dag.params and "land_demo_sources" not in dag.task_ids
    assert dag.get_task("load_transform").operator_class.__name__ == "TriggerDagRunOperator"
