# Airflow image for the reconciliation gates: the official Airflow 3.3.2 image plus
#   - the OS packages the mysql provider (mysqlclient) and pyspark need,
#   - the pinned Python dependencies (requirements.txt, resolved against constraints.txt),
#   - the project itself (dags/, plugins/, include/) and the `recon` command.
#
# Build:  docker compose build      (or: docker build -t recon-airflow:local .)
# Layers go from least to most often changed, so editing a DAG or an operator does not
# reinstall the dependencies.

FROM apache/airflow:3.3.2-python3.11

SHELL ["/bin/bash", "-o", "pipefail", "-e", "-u", "-c"]

# --- OS packages (root) --------------------------------------------------------------------
# libmariadb-dev, pkg-config, build-essential: mysqlclient (mysql provider) builds against them.
# openjdk-17-jre-headless: the JVM pyspark runs on (local mode inside the worker).
# libpostgresql-jdbc-java, libmariadb-java: the JDBC drivers Spark reads Postgres/MariaDB with;
#   they land in /usr/share/java.
# The man1 directory: the JRE's postinst links its man pages there and slim images lack it.
# The java-17 symlink gives one JAVA_HOME for amd64 and arm64 (Apple silicon) builds alike.
USER root
RUN mkdir -p /usr/share/man/man1 \
    && apt-get update \
    && apt-get install -y --no-install-recommends \
        build-essential \
        pkg-config \
        libmariadb-dev \
        openjdk-17-jre-headless \
        libpostgresql-jdbc-java \
        libmariadb-java \
    && ln -sfn "/usr/lib/jvm/java-17-openjdk-$(dpkg --print-architecture)" /usr/lib/jvm/java-17 \
    && apt-get autoremove -yqq --purge \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/*

ENV JAVA_HOME=/usr/lib/jvm/java-17 \
    RECON_PROJECT_ROOT=/opt/airflow

# --- Python dependencies (airflow user: the image refuses pip as root) ---------------------
# Naming apache-airflow at the image's own version stops pip from ever up- or downgrading the
# Airflow that the image ships; constraints.txt pins it to the same version.
USER airflow
# /opt/airflow/config holds the airflow.cfg and login passwords the compose services share; made
# here so that a fresh named volume mounted on it starts out owned by airflow.
RUN mkdir -p /opt/airflow/config
COPY --chown=airflow:0 requirements.txt constraints.txt /opt/airflow/
RUN pip install --no-cache-dir \
        "apache-airflow==${AIRFLOW_VERSION}" \
        -r /opt/airflow/requirements.txt \
        -c /opt/airflow/constraints.txt

# --- The project ----------------------------------------------------------------------------
# Editable install on purpose: the installed package points at /opt/airflow/plugins, so the
# `recon` command, Airflow (which has plugins/ on sys.path) and the ./plugins bind mount of
# docker-compose.yaml all run the same code. --no-deps: the dependencies are installed above.
COPY --chown=airflow:0 pyproject.toml /opt/airflow/
COPY --chown=airflow:0 plugins/ /opt/airflow/plugins/
RUN pip install --no-cache-dir --no-deps -e /opt/airflow \
    && recon --help > /dev/null

COPY --chown=airflow:0 include/ /opt/airflow/include/
COPY --chown=airflow:0 dags/ /opt/airflow/dags/
