"""Cohort config: the shipped cohorts load, and each bad field gives one message naming file, line, cohort and field."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from recon_operators.config import ConfigError
from recon_operators.config.cohorts import (
    POLICIES,
    RUN_PARAMS,
    STAGES,
    CohortConfigError,
    CohortProblem,
    load_cohort,
    load_cohorts,
    missing_suites,
)
from recon_operators.engine.scope import Scope

ROOT = Path(__file__).resolve().parents[2]
COHORTS = ROOT / "include" / "config" / "cohorts"

BASE = """\
cohort_id: T1
env: dev
owner: ops
tags: [recon]
schedule: null
connections: {transform_pg: tpg, stage_mysql: smy, target: tgt}
prefixes:
  - prefix_id: P1
    prefix: "62811"
    batches:
      - {batch_id: B1, msisdn_start: "628110000000", msisdn_end: "628110000999"}
      - {batch_id: B2, msisdn_start: "628110001000", msisdn_end: "628110001999"}
  - prefix_id: P2
    prefix: "62812"
    batches:
      - {batch_id: B1, msisdn_start: "628120000000", msisdn_end: "628120000999"}
stages:
  transform: {load: {kind: builtin}}
  mini_recon_1:
    suites: [mr1.yaml]
    policy: stop
  stage:
    load: {kind: glue, job_name: stage-load, arguments: {--mode: full}}
  mini_recon_2:
    suites: mr2.yaml
    policy: approve
    approval_timeout_minutes: 30
  target:
    load: {kind: trigger_dag, dag_id: target_load, conf: {mode: full}}
  mini_recon_3: {suites: [mr3.yaml], policy: fail}
alerts: {slack_conn_id: slack_alerts}
landing: {bucket: landing-bkt, prefix: brm/, brm_key_pattern: "{env}/{cohort_id}/BRM_*.csv"}
"""


def _write(folder: Path, text: str, name: str = "t1.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _mutate(old: str, new: str, text: str = BASE) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def _line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def _problems(tmp_path: Path, text: str) -> tuple[CohortProblem, ...]:
    with pytest.raises(CohortConfigError) as info:
        load_cohort(_write(tmp_path, text))
    return info.value.problems


# -- what ships ------------------------------------------------------------------------------


def test_shipped_cohorts_load_in_pipeline_order_with_valid_scopes():
    cohorts = {c.cohort_id: c for c in load_cohorts(COHORTS)}
    assert sorted(cohorts) == ["A", "B"]
    assert {c.dag_id for c in cohorts.values()} == {"recon_cohort_A", "recon_cohort_B"}
    for cohort in cohorts.values():
        assert cohort.env == "demo"
        assert tuple(s.name for s in cohort.stages) == STAGES
        assert all(cohort.stage(s).load.kind == "builtin" for s in ("transform", "stage", "target"))
        for prefix, batch in cohort.batches():
            params = cohort.run_params(prefix.prefix_id, batch.batch_id)
            assert tuple(params) == RUN_PARAMS
            Scope.from_mapping({**params, "stage": "mini_recon_1"})  # every value is a valid scope value
    assert cohorts["B"].stage("mini_recon_2").policy == "approve"
    assert cohorts["B"].stage("mini_recon_2").approval_timeout == timedelta(minutes=30)


def test_policies_match_the_gate_operators():
    gate = pytest.importorskip("recon_operators.operators.gate")
    assert POLICIES == gate.POLICIES


def test_loading_imports_no_airflow_and_no_database_or_aws_client():
    probe = (
        "import sys; import recon_operators.config.cohorts as c; c.load_cohorts(); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'airflow', 'psycopg2', 'pymysql', 'MySQLdb', "
        "'pymongo', 'boto3', 'botocore', 'sqlalchemy'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(ROOT / "plugins"), "RECON_PROJECT_ROOT": str(ROOT)},
    )
    assert out.stdout.strip() == "[]"


def test_readme_production_stages_are_valid(tmp_path):
    readme = (COHORTS / "README.md").read_text(encoding="utf-8")
    block = next(b for b in re.findall(r"```yaml\n(.*?)```", readme, re.S) if b.startswith("stages:"))
    base_stages = BASE[BASE.index("stages:") : BASE.index("alerts:")]
    cohort = load_cohort(_write(tmp_path, BASE.replace(base_stages, block)))
    transform = cohort.stage("transform").load
    assert transform.kind == "glue" and transform.job_name == "prod-tsel_transformation"
    assert cohort.stage("stage").load.dag_id == "stage_load"


def test_spark_load_step_passes_run_params_as_application_arguments(tmp_path):
    text = BASE.replace(
        "transform: {load: {kind: builtin}}",
        "transform: {load: {kind: spark, application: 's3a://jobs/transform.py', arguments: {--mode: full}}}",
    )
    load = load_cohort(_write(tmp_path, text)).stage("transform").load
    assert (load.kind, load.application, load.conn_id) == ("spark", "s3a://jobs/transform.py", "spark_default")
    args = load.application_args({"cohort_id": "T1", "batch_id": "B1"})
    assert args == ["--cohort_id", "T1", "--batch_id", "B1", "--mode", "full"]


# -- the API the DAG factory uses ------------------------------------------------------------


def test_base_cohort_api(tmp_path):
    cohort = load_cohort(_write(tmp_path, BASE))
    assert cohort.dag_id == "recon_cohort_T1" and cohort.schedule is None and cohort.tags == ("recon",)
    assert cohort.connections.store == "recon_store" and cohort.connections.aws == "aws_default"
    assert cohort.connections.stage_mongo is None
    assert cohort.stage("overall_summary") is None  # report stages are optional
    with pytest.raises(KeyError):
        cohort.stage("mini_recon_4")
    assert cohort.stage("transform").load.loader == "transform"
    assert cohort.stage("mini_recon_2").suites == ("mr2.yaml",)  # a single file name is a one-item list
    params = cohort.run_params("P1", "B2")
    assert params == {
        "env": "dev",
        "cohort_id": "T1",
        "prefix_id": "P1",
        "prefix": "62811",
        "batch_id": "B2",
        "msisdn_start": "628110001000",
        "msisdn_end": "628110001999",
    }
    assert cohort.prefix("P1").batch("B2").size == 1000
    glue = cohort.stage("stage").load.arguments_for(params)
    assert glue["--batch_id"] == "B2" and glue["--mode"] == "full"
    conf = cohort.stage("target").load.arguments_for(params)
    assert conf["msisdn_end"] == "628110001999" and conf["mode"] == "full"
    assert cohort.landing.brm_key(params) == "brm/dev/T1/BRM_*.csv" and cohort.landing.wildcard
    assert cohort.landing.brm_key(cohort.cohort_params()) == "brm/dev/T1/BRM_*.csv"
    hash(cohort)  # frozen all the way down


def test_parsing_reads_no_suite_files_and_missing_ones_are_listed_on_request(tmp_path):
    cohort = load_cohort(_write(tmp_path, BASE))  # mr1.yaml... exist nowhere
    (tmp_path / "mr1.yaml").write_text("suite: x\n")
    assert missing_suites(cohort, tmp_path) == ["mr2.yaml", "mr3.yaml"]


def test_ids_written_as_numbers_become_strings(tmp_path):
    cohort = load_cohort(_write(tmp_path, _mutate("{batch_id: B2,", "{batch_id: 7,")))
    assert cohort.prefix("P1").batches[1].batch_id == "7"


@pytest.mark.parametrize("cron", ["0 2 * * *", "*/15 6-20 * * 1-5", "@daily"])
def test_valid_schedules(tmp_path, cron):
    assert load_cohort(_write(tmp_path, _mutate("schedule: null", f'schedule: "{cron}"'))).schedule == cron


# -- one message per problem: file, line, cohort, field --------------------------------------

# (old text, new text, field, message fragment, line: the needle it points at or a number)
CASES = [
    pytest.param("env: dev\n", "", "env", "required field is missing", 1, id="missing-required"),
    pytest.param("env: dev", "env: 'd e v'", "env", "is not allowed", None, id="env-not-scope-safe"),
    pytest.param(
        "{batch_id: B2,",
        "{batch_id: 'B;2',",
        "prefixes[P1].batches[#2].batch_id",
        "is not allowed",
        None,
        id="batch-id-not-scope-safe",
    ),
    pytest.param("target: tgt", "target: 'tg t'", "connections.target", "Airflow connection id", None, id="conn-id"),
    pytest.param(
        "transform_pg: tpg, ",
        "",
        "connections.transform_pg",
        "required field is missing",
        "connections:",
        id="missing-connection",
    ),
    pytest.param(
        'msisdn_end: "628110001999"',
        'msisdn_end: "62811000199x"',
        "prefixes[P1].batches[B2].msisdn_end",
        "digits only",
        None,
        id="msisdn-not-digits",
    ),
    pytest.param(
        'msisdn_start: "628110001000"',
        "msisdn_start: 628110001000",
        "prefixes[P1].batches[B2].msisdn_start",
        "must be quoted digits",
        None,
        id="msisdn-unquoted",
    ),
    pytest.param(
        'msisdn_end: "628110001999"',
        'msisdn_end: "6281100019999"',
        "prefixes[P1].batches[B2].msisdn_end",
        "same length",
        None,
        id="msisdn-lengths-differ",
    ),
    pytest.param(
        'msisdn_end: "628110001999"',
        'msisdn_end: "628110000999"',
        "prefixes[P1].batches[B2].msisdn_end",
        "is below msisdn_start 628110001000",
        "{batch_id: B2,",
        id="msisdn-start-after-end",
    ),
    pytest.param(
        '{batch_id: B2, msisdn_start: "628110001000"',
        '{batch_id: B2, msisdn_start: "628110000500"',
        "prefixes[P1].batches[B2]",
        "overlaps batch P1/B1 (628110000000..628110000999, line 11)",
        None,
        id="overlapping-batches",
    ),
    pytest.param(
        '{batch_id: B2, msisdn_start: "628110001000", msisdn_end: "628110001999"}',
        '{batch_id: B2, msisdn_start: "628110001000", msisdn_end: "628130001999"}',
        "prefixes[P1].batches[B2].msisdn_end",
        "outside its prefix 62811",
        None,
        id="batch-outside-prefix",
    ),
    pytest.param(
        "{batch_id: B2,",
        "{batch_id: B1,",
        "prefixes[P1].batches[B1].batch_id",
        "already used in this prefix on line 11",
        12,
        id="duplicate-batch-id",
    ),
    pytest.param(
        "prefix_id: P2",
        "prefix_id: P1",
        "prefixes[P1].prefix_id",
        "already used on line 8",
        13,
        id="duplicate-prefix-id",
    ),
    pytest.param(
        'prefix: "62812"',
        'prefix: "62811"',
        "prefixes[P2].prefix",
        "is the same as prefix 62811",
        14,
        id="duplicate-prefix-digits",
    ),
    pytest.param(
        'prefix: "62812"', 'prefix: "628110"', "prefixes[P2].prefix", "overlaps prefix 62811", None, id="nested-prefix"
    ),
    pytest.param(
        "  mini_recon_3: {",
        "  mini_recon3: {",
        "stages.mini_recon3",
        "did you mean 'mini_recon_3'?",
        None,
        id="unknown-stage",
    ),
    pytest.param(
        "  mini_recon_3: {suites: [mr3.yaml], policy: fail}\n",
        "",
        "stages.mini_recon_3",
        "required stage is missing",
        "stages:",
        id="missing-stage",
    ),
    pytest.param(
        "policy: stop",
        "policy: halt",
        "stages.mini_recon_1.policy",
        "must be one of stop, approve, fail, warn, got 'halt'",
        None,
        id="unknown-policy",
    ),
    pytest.param(
        "policy: stop",
        "polcy: stop",
        "stages.mini_recon_1.polcy",
        "unknown key (did you mean 'policy'?)",
        None,
        id="typo-key",
    ),
    pytest.param(
        "schedule: null", "schedual: null", "schedual", "did you mean 'schedule'?", None, id="typo-top-level-key"
    ),
    pytest.param(
        "policy: stop",
        "policy: stop\n    policy: warn",
        "stages.mini_recon_1.policy",
        "given twice",
        "policy: warn",
        id="duplicate-key",
    ),
    pytest.param("schedule: null", 'schedule: "61 * * * *"', "schedule", "must be a 5-field cron", None, id="bad-cron"),
    pytest.param(
        "schedule: null", 'schedule: "0 0 * * * *"', "schedule", "must be a 5-field cron", None, id="cron-with-seconds"
    ),
    pytest.param("tags: [recon]", "tags: recon", "tags", "must be a list, got string 'recon'", None, id="wrong-type"),
    pytest.param(
        "{suites: [mr3.yaml], policy: fail}",
        "{suites: [mr3.yaml], policy: fail, approval_timeout_minutes: 5}",
        "stages.mini_recon_3.approval_timeout_minutes",
        "only applies to policy approve",
        None,
        id="timeout-without-approve",
    ),
    pytest.param(
        "approval_timeout_minutes: 30",
        "approval_timeout_minutes: 0",
        "stages.mini_recon_2.approval_timeout_minutes",
        "minutes > 0",
        None,
        id="timeout-not-positive",
    ),
    pytest.param(
        "suites: [mr1.yaml]",
        "suites: [../mr1.yaml]",
        "stages.mini_recon_1.suites[0]",
        "relative to include/config/suites",
        None,
        id="suite-path-escapes",
    ),
    pytest.param(
        "    suites: [mr1.yaml]\n",
        "",
        "stages.mini_recon_1.suites",
        "required field is missing",
        "  mini_recon_1:",
        id="recon-stage-without-suites",
    ),
    pytest.param(
        "{kind: builtin}",
        "{kind: melt}",
        "stages.transform.load.kind",
        "must be one of builtin, glue, trigger_dag, spark",
        None,
        id="unknown-load-kind",
    ),
    pytest.param(
        "{kind: builtin}",
        "{kind: spark}",
        "stages.transform.load.application",
        "required field is missing",
        None,
        id="spark-without-application",
    ),
    pytest.param(
        "{kind: builtin}",
        "{kind: spark, application: 'jobs/transform.sh'}",
        "stages.transform.load.application",
        "a .py or .jar path",
        None,
        id="spark-application-not-py-or-jar",
    ),
    pytest.param(
        "{kind: builtin}",
        "{kind: builtin, job_name: x}",
        "stages.transform.load.job_name",
        "belongs to kind glue",
        None,
        id="setting-of-another-kind",
    ),
    pytest.param(
        "job_name: stage-load, ",
        "",
        "stages.stage.load.job_name",
        "required field is missing",
        "load: {kind: glue",
        id="glue-without-job",
    ),
    pytest.param(
        "{--mode: full}", "{mode: full}", "stages.stage.load.arguments.mode", "--name", None, id="glue-argument-name"
    ),
    pytest.param(
        "{--mode: full}",
        "{--batch_id: B9}",
        "stages.stage.load.arguments.--batch_id",
        "passed from the run params",
        None,
        id="glue-argument-shadows-param",
    ),
    pytest.param(
        "transform: {load: {kind: builtin}}",
        "transform: {load: {kind: builtin}, policy: stop}",
        "stages.transform.policy",
        "belongs to the recon stages",
        None,
        id="policy-on-load-stage",
    ),
    pytest.param(
        "alerts: {slack_conn_id: slack_alerts}",
        "alerts: {}",
        "alerts",
        "needs slack_conn_id or sns_topic_arn",
        None,
        id="no-alert-route",
    ),
    pytest.param(
        "alerts: {slack_conn_id: slack_alerts}",
        "alerts: {sns_topic_arn: 'arn:aws:sns:nowhere'}",
        "alerts.sns_topic_arn",
        "SNS topic ARN",
        None,
        id="bad-sns-arn",
    ),
    pytest.param(
        "{env}/{cohort_id}",
        "{env}/{cohort}",
        "landing.brm_key_pattern",
        "placeholder {cohort} is not allowed here",
        None,
        id="landing-placeholder",
    ),
    # One sensor waits for the cohort's extract: a batch placeholder would render empty in it.
    pytest.param(
        "{env}/{cohort_id}",
        "{cohort_id}/{batch_id}",
        "landing.brm_key_pattern",
        "placeholder {batch_id} is not allowed here; use one of {env}, {cohort_id}",
        None,
        id="landing-batch-placeholder",
    ),
    pytest.param(
        "bucket: landing-bkt", "bucket: Landing_Bkt", "landing.bucket", "S3 bucket name", None, id="landing-bucket"
    ),
    pytest.param("prefix: brm/", "prefix: brm", "landing.prefix", "ending with /", None, id="landing-prefix"),
]


@pytest.mark.parametrize("old, new, field, fragment, line", CASES)
def test_each_problem_names_file_line_cohort_and_field(tmp_path, old, new, field, fragment, line):
    text = _mutate(old, new)
    problems = _problems(tmp_path, text)
    assert len(problems) == 1, [str(p) for p in problems]
    problem = problems[0]
    if isinstance(line, int):
        expected_line = line
    else:  # the line of the needle given, else of the new text
        expected_line = _line_of(text, line or new.splitlines()[-1])
    assert (problem.cohort, problem.field, problem.line) == ("T1", field, expected_line)
    assert fragment in problem.message
    assert str(problem).startswith(f"{tmp_path / 't1.yaml'} line {expected_line}: cohort 'T1', field {field}: ")


def test_an_invalid_cohort_id_is_still_named(tmp_path):
    (problem,) = _problems(tmp_path, _mutate("cohort_id: T1", "cohort_id: 'T1;env=prod'"))
    assert (problem.field, problem.line, problem.cohort) == ("cohort_id", 1, "T1;env=prod")
    assert "is not allowed" in problem.message


def test_every_problem_is_reported_at_once_in_file_order(tmp_path):
    text = _mutate(
        "policy: stop",
        "polcy: stop",
        _mutate("schedule: null", "schedule: often", _mutate('prefix: "62812"', "prefix: 62812")),
    )
    with pytest.raises(CohortConfigError) as info:
        load_cohort(_write(tmp_path, text))
    assert [p.field for p in info.value.problems] == ["schedule", "prefixes[P2].prefix", "stages.mini_recon_1.polcy"]
    assert str(info.value).startswith("3 problems in cohort config:\n  - ")
    assert isinstance(info.value, ConfigError)  # callers catching config errors catch these too


def test_bad_fields_and_bad_combinations_come_in_one_round(tmp_path):
    """Checks across fields (overlapping ranges, a timeout without approve) do not wait for the
    other fields to be fixed: one run lists them with the fields' own problems, each located."""
    text = _mutate(
        "schedule: null",
        "schedule: often",
        _mutate(
            '{batch_id: B2, msisdn_start: "628110001000"',
            '{batch_id: B2, msisdn_start: "628110000500"',
            _mutate(
                "{suites: [mr3.yaml], policy: fail}", "{suites: [mr3.yaml], policy: fail, approval_timeout_minutes: 5}"
            ),
        ),
    )
    found = [(p.line, p.field) for p in _problems(tmp_path, text)]
    assert found == [
        (5, "schedule"),
        (12, "prefixes[P1].batches[B2]"),
        (_line_of(text, "approval_timeout_minutes: 5"), "stages.mini_recon_3.approval_timeout_minutes"),
    ]


@pytest.mark.parametrize(
    "text, fragment, line",
    [
        ("cohort_id: [T1\n", "malformed YAML", 2),
        ("- just\n- a list\n", "a cohort file is a mapping", None),
        ("", "a cohort file is a mapping", None),
    ],
)
def test_unreadable_files(tmp_path, text, fragment, line):
    (problem,) = _problems(tmp_path, text)
    assert fragment in problem.message and problem.line == line


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(CohortConfigError, match="cohort file not found"):
        load_cohort(tmp_path / "nope.yaml")
    with pytest.raises(CohortConfigError, match="cohort folder not found"):
        load_cohorts(tmp_path / "nope")


# -- across files ----------------------------------------------------------------------------


def _other(cohort_id: str = "T2", env: str = "dev", prefix: str = "62813") -> str:
    text = BASE.replace("cohort_id: T1", f"cohort_id: {cohort_id}").replace("env: dev", f"env: {env}")
    return text.replace('"62811', f'"{prefix}').replace("62812", "62819")


def test_load_cohorts_reads_every_yaml_file_and_ignores_the_rest(tmp_path):
    _write(tmp_path, BASE, "a.yaml")
    _write(tmp_path, _other(), "b.yml")
    _write(tmp_path, "not: yaml config", "README.md")
    assert [c.cohort_id for c in load_cohorts(tmp_path)] == ["T1", "T2"]


def test_duplicate_cohort_ids_across_files(tmp_path):
    first = _write(tmp_path, BASE, "a.yaml")
    second = _write(tmp_path, _other(cohort_id="T1"), "b.yaml")
    with pytest.raises(CohortConfigError) as info:
        load_cohorts(tmp_path)
    fields = {p.field: p for p in info.value.problems}
    problem = fields["cohort_id"]
    assert (problem.file, problem.line, problem.cohort) == (str(second), 1, "T1")
    assert f"already used by {first} line 1" in problem.message
    assert "dag_id" in fields  # the default DAG id collides as well


def test_overlapping_ranges_across_cohorts_of_one_env(tmp_path):
    _write(tmp_path, BASE, "a.yaml")
    second = _write(tmp_path, _other(prefix="62811"), "b.yaml")
    with pytest.raises(CohortConfigError) as info:
        load_cohorts(tmp_path)
    problem = info.value.problems[0]
    assert (problem.file, problem.cohort, problem.field) == (str(second), "T2", "prefixes[P1].batches[B1]")
    assert problem.line == 11 and "overlaps cohort 'T1' batch P1/B1" in problem.message
    _write(tmp_path, _other(prefix="62811", env="sit"), "b.yaml")
    assert len(load_cohorts(tmp_path)) == 2  # another env is another migration run


def test_one_bad_file_fails_the_whole_load_and_names_only_itself(tmp_path):
    _write(tmp_path, BASE, "a.yaml")
    bad = _write(tmp_path, _mutate("policy: stop", "policy: halt", _other()), "b.yaml")
    with pytest.raises(CohortConfigError) as info:
        load_cohorts(tmp_path)
    assert [(p.file, p.cohort, p.field) for p in info.value.problems] == [
        (str(bad), "T2", "stages.mini_recon_1.policy")
    ]


SCOPES = [{"prefix_id": p, "batch_id": b} for p in ("P1", "P2") for b in ("B001", "B002")]


@pytest.mark.parametrize(
    "prefix_ids, batch_ids, chosen",
    [
        ([], [], ["P1/B001", "P1/B002", "P2/B001", "P2/B002"]),
        (["P2"], [], ["P2/B001", "P2/B002"]),
        ([], ["B002"], ["P1/B002", "P2/B002"]),
        ([], ["P2/B001"], ["P2/B001"]),
        (["P1"], ["B001", "P1/B002"], ["P1/B001", "P1/B002"]),
    ],
)
def test_a_run_selects_prefixes_and_batches(prefix_ids, batch_ids, chosen):
    from recon_operators.operators.batches import select_scopes

    got = select_scopes(SCOPES, prefix_ids, batch_ids)
    assert [f"{s['prefix_id']}/{s['batch_id']}" for s in got] == chosen


@pytest.mark.parametrize(
    "prefix_ids, batch_ids, message",
    [
        (["P9"], [], "prefix_ids ['P9'] are not in the cohort (known: P1, P2)"),
        (["P1"], ["P2/B001"], "batch_ids ['P2/B001'] are not in the selected prefixes"),
        ([], ["B9"], "batch_ids ['B9'] are not in the selected prefixes"),
    ],
)
def test_a_selection_naming_unknown_ids_is_refused(prefix_ids, batch_ids, message):
    from recon_operators.operators.batches import SelectionError, select_scopes

    with pytest.raises(SelectionError, match=re.escape(message)):
        select_scopes(SCOPES, prefix_ids, batch_ids)
