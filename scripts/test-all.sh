#!/usr/bin/env bash
# Runs every test: the Rust workspace (unit and multi-process integration tests) and the Python
# REST client libraries (geoserver-rest, geoserver-restconfig) against live meridian nodes.
# Installs what it needs: Debian packages with apt-get, Python packages in a virtual environment.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
command -v cc >/dev/null || need+=(build-essential)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "test-all: missing Debian packages: ${need[*]} (run as root to install them)" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi

if [ ! -f tests/fixtures/geoserver-release/global.xml ] && [ -z "${MERIDIAN_FIXTURE_DATADIR:-}" ]; then
  echo "test-all: GeoServer's release data directory is missing (expected tests/fixtures/geoserver-release)" >&2
  exit 1
fi

echo "== Brokers for the cluster tests (Debian packages)"
. scripts/brokers/common.sh
need_packages activemq libmqtt-client-java libpostgresql-jdbc-java mosquitto nats-server rabbitmq-server openssl gdal-bin postgresql-15 postgresql-15-postgis-3 postgis cgi-mapserver mapserver-bin lighttpd iproute2 systemd fonts-dejavu-core python3-qgis qgis-providers python3-gdal chromium

echo "== Rust tests"
cargo build --workspace --quiet
cargo test --workspace --quiet

echo "== Benchmarks run (tiny size; figures come from the release commands in BENCHMARKS.md)"
bench=./target/debug/meridian-bench
$bench stalls --seconds 0.2
$bench sealing --iterations 100
$bench idle --connections 200 --gets 2
$bench startup --layers 500 --runs 1
$bench propagation --writes 5 --replicas 2
$bench propagation --broker activemq --writes 5 --replicas 1
$bench propagation --writes 5 --replicas 1 --durable false
$bench propagation --broker mesh --writes 5 --replicas 2
$bench throughput --writes 20 --clients 4 --replicas 2
$bench throughput --broker mesh --writes 20 --clients 4 --replicas 2
$bench catchup --changes 30 --clients 4
$bench bootstrap --layers 500
$bench reads --layers 500 --clients 1,4 --seconds 0.3
$bench mapserver --seconds 0.3 --clients 2 --fixture "${MERIDIAN_FIXTURE_DATADIR:-tests/fixtures/geoserver-release}"
$bench maps --seconds 0.3 --clients 1 --fixture "${MERIDIAN_FIXTURE_DATADIR:-tests/fixtures/geoserver-release}"
$bench tiles --seconds 0.3 --clients 1 --fixture "${MERIDIAN_FIXTURE_DATADIR:-tests/fixtures/geoserver-release}"
$bench tiles --uncached --seconds 0.3 --clients 1 --fixture "${MERIDIAN_FIXTURE_DATADIR:-tests/fixtures/geoserver-release}"

echo "== Python client libraries against a live node"
venv=target/py-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/python/requirements.txt
MERIDIAN_BIN="$PWD/target/debug/meridian" "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/python
