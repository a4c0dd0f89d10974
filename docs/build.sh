#!/usr/bin/env bash
# Builds the documentation site into docs/_site with docfx (pinned in dotnet-tools.json), warnings as errors.
# The home page is the README with its links made relative to docs/ (written to docs/index.md, not committed).
#   bash docs/build.sh            # build
#   bash docs/build.sh --serve    # build, then serve on http://localhost:8080
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet tool restore >/dev/null
rm -rf docs/_site
sed -e 's#](docs/#](#g' README.md > docs/index.md
dotnet docfx docs/docfx.json --warningsAsErrors "$@"
