"""The one SparkSession of a process, and the JDBC drivers it carries.

A JVM start costs seconds, so every Spark side of a process shares one session (``getOrCreate``).
The session runs in UTC (Spark SQL and the JVM, so JDBC timestamps are not shifted), with the UI
off and TIME columns enabled; the JDBC jars come from Debian's packages
(``libpostgresql-jdbc-java``, ``libmariadb-java``), never from Maven at run time.

Settings come from the environment so a CLI run, an operator and a spark-submit job agree:
``RECON_SPARK_MASTER`` (default ``local[*]``), ``RECON_SPARK_SHUFFLE_PARTITIONS``,
``RECON_SPARK_DRIVER_MEMORY``, ``RECON_SPARK_JARS`` (extra jars, comma-separated),
``RECON_SPARK_CONF`` (``key=value;key=value``, e.g. the s3a settings of a cluster).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from pathlib import Path
from typing import Any

DEFAULT_MASTER = "local[*]"
JDBC_JARS = ("/usr/share/java/postgresql.jar", "/usr/share/java/mariadb-java-client.jar")
_LOCK = threading.Lock()
_MASTER: dict[str, str] = {}
_SESSION: dict[str, Any] = {}
SUBMITTED = "RECON_SPARK_SUBMITTED"  # set by engine/spark/job.py: spark-submit configured the session


class SparkSetupError(RuntimeError):
    """Spark cannot start here (no Java, no pyspark, a bad RECON_SPARK_CONF)."""


def configure(master: str | None) -> None:
    """Choose the master of the process's session before it starts (``--spark-master``)."""
    if master:
        _MASTER["master"] = master


def jars() -> list[str]:
    extra = [j for j in os.environ.get("RECON_SPARK_JARS", "").split(",") if j.strip()]
    return [j for j in JDBC_JARS if Path(j).is_file()] + extra


def extra_conf() -> dict[str, str]:
    """``RECON_SPARK_CONF='k=v;k2=v2'`` as a mapping; one line naming the bad item otherwise."""
    out: dict[str, str] = {}
    for item in os.environ.get("RECON_SPARK_CONF", "").split(";"):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip().startswith("spark."):
            raise SparkSetupError(f"RECON_SPARK_CONF: {key.strip()!r} is not a spark.* key=value setting")
        out[key.strip()] = value.strip()
    return out


def settings(master: str | None = None) -> dict[str, str]:
    """The session's configuration (also what ``spark-submit --conf`` is given)."""
    conf = {
        "spark.master": master or _MASTER.get("master") or os.environ.get("RECON_SPARK_MASTER") or DEFAULT_MASTER,
        "spark.app.name": "recon",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.session.timeZone": "UTC",
        "spark.driver.extraJavaOptions": "-Duser.timezone=UTC",
        "spark.executor.extraJavaOptions": "-Duser.timezone=UTC",
        "spark.sql.timeType.enabled": "true",
        # CHAR(n) read as the database sends it (Postgres pads, MariaDB does not), not re-padded by Spark:
        # the dialect drops a Postgres CHAR's padding as Postgres's own cast to text does
        "spark.sql.readSideCharPadding": "false",
        "spark.sql.legacy.charVarcharAsString": "true",
        "spark.sql.shuffle.partitions": os.environ.get("RECON_SPARK_SHUFFLE_PARTITIONS", "8"),
        "spark.driver.memory": os.environ.get("RECON_SPARK_DRIVER_MEMORY", "2g"),
        "spark.sql.execution.arrow.pyspark.enabled": "true",
    }
    if os.environ.get(SUBMITTED):  # spark-submit chose the master (the cluster's), keep it
        conf.pop("spark.master")
    found = jars()
    if found:
        conf["spark.jars"] = ",".join(found)
    conf.update(extra_conf())
    return conf


def spark_session(master: str | None = None) -> Any:
    """The process's SparkSession, started on first use."""
    with _LOCK:
        try:
            from pyspark.sql import SparkSession
        except ImportError as exc:
            raise SparkSetupError(f"the spark engine needs pyspark: {exc}") from None
        if "session" in _SESSION:
            return _SESSION["session"]
        builder = SparkSession.builder
        for key, value in settings(master).items():
            builder = builder.config(key, value)
        try:
            session = builder.getOrCreate()
        except Exception as exc:  # noqa: BLE001 - Java missing, a port in use...
            raise SparkSetupError(f"Spark could not start: {str(exc).splitlines()[0] if str(exc) else exc!r}") from None
        session.sparkContext.setLogLevel("ERROR")
        logging.getLogger("py4j").setLevel(logging.WARNING)  # its gateway's chatter, at exit too
        _SESSION["session"] = session
        atexit.register(stop)
        return session


def stop() -> None:
    """Stop the process's session (its JVM), e.g. at exit."""
    with _LOCK:
        session = _SESSION.pop("session", None)
    if session is not None:
        try:
            session.stop()
        except Exception:  # noqa: BLE001 - the JVM may be gone already (it died, or is exiting)
            pass
