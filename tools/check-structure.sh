#!/usr/bin/env bash
# Structure check (issue 14, run by tools/test.sh and so by .ci/run): no import circles
# between files, the layering of design.md, preview above store only, and no store
# internals in src/cli/ (STRICT_CLI=0 only reports that one). The rules are listed
# in tools/check-structure.py. First checks the checker on small fake trees.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 tools/check-structure.py --self-test >/dev/null || {
  python3 tools/check-structure.py --self-test
  exit 1
}
exec python3 tools/check-structure.py src
