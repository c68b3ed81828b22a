#!/usr/bin/env bash
# Builds the VS Code extension (editors/vscode) into editors/vscode/kdsl.vsix with the versions
# pinned in its package-lock.json (`npm ci`), then lists what the package holds.
# Needs Node >= 20 and npm; prints the .vsix path on its last line.
set -euo pipefail
cd "$(dirname "$0")/../editors/vscode"
if ! command -v npm >/dev/null 2>&1; then
  echo "build-vsix: npm is not installed (Node.js >= 20 with npm is needed)" >&2
  exit 2
fi
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$major" -lt 20 ]; then
  echo "build-vsix: Node.js >= 20 is needed to package the extension (found: $(node --version 2>&1))" >&2
  exit 2
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! npm ci --no-audit --no-fund >"$log" 2>&1; then
  cat "$log" >&2
  echo "build-vsix: npm ci failed (log above)" >&2
  exit 2
fi
rm -f kdsl.vsix
if ! npx --no-install vsce package --skip-license --allow-missing-repository --out kdsl.vsix \
    >"$log" 2>&1; then
  cat "$log" >&2
  echo "build-vsix: vsce package failed (log above)" >&2
  exit 2
fi
echo "$(pwd)/kdsl.vsix"
