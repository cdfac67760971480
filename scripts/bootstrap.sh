#!/usr/bin/env bash
# Installs what the project needs on a fresh machine: apt packages for the mysql provider's
# mysqlclient build (and a JRE for pyspark, with Debian's JDBC drivers the Spark engine reads Postgres and
# MariaDB through: never fetched at run time), a .venv with the pinned dependencies, and the
# recon_operators package itself (editable, so `recon` is on the venv's PATH). Debian's chromium is
# the browser the reconciliation view's browser test drives (Playwright never downloads one here).
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(libmariadb-dev pkg-config chromium chromium-driver libpostgresql-jdbc-java libmariadb-java)
command -v java >/dev/null 2>&1 || apt_packages+=(default-jre-headless)
missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "bootstrap: installing apt packages: ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  # Wait for another apt run (a second checkout bootstrapping) rather than failing on its lock.
  apt_lock=(-o DPkg::Lock::Timeout=300)
  "${sudo_cmd[@]}" apt-get "${apt_lock[@]}" update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get "${apt_lock[@]}" install -y -qq "${missing[@]}" >/dev/null
fi

python_bin="${PYTHON:-python3}"
if ! "$python_bin" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
  echo "bootstrap: Python 3.11 is required ($python_bin is $("$python_bin" -V 2>&1)); set PYTHON=/path/to/python3.11" >&2
  exit 1
fi
[ -x .venv/bin/python ] || "$python_bin" -m venv .venv
echo "bootstrap: installing pinned Python dependencies into .venv (first time: a few minutes)"
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -r requirements.txt -c constraints.txt
.venv/bin/python -m pip install -q --no-deps -e .
echo "bootstrap: done"
