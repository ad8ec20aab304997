#!/usr/bin/env bash
# Refreshes the vendored plotting library of the playground from the npm registry.
# The page loads it from /lib/plotly/; nothing is fetched from a CDN at run time.
#   scripts/vendor-plotly.sh            # the pinned version below
#   scripts/vendor-plotly.sh 4.2.0      # another version (then update PLOTLY_VERSION here)
set -euo pipefail
PLOTLY_VERSION="${1:-4.1.1}"
target="$(cd "$(dirname "$0")/.." && pwd)/src/Api/wwwroot/lib/plotly"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "plotly.js-cartesian-dist-min@${PLOTLY_VERSION}" >/dev/null && tar xzf ./*.tgz)
mkdir -p "$target"
cp "$work/package/plotly-cartesian.min.js" "$work/package/LICENSE" "$target/"
echo "plotly.js-cartesian-dist-min ${PLOTLY_VERSION}" > "$target/VERSION"
echo "vendored plotly.js-cartesian-dist-min ${PLOTLY_VERSION} into $target"
echo "now run tests/Playground.Tests: if plotly's own CSS rules changed, it writes them to TestResults/plotly.css" \
  "to copy over $target/plotly.css (the page links them there instead of letting plotly inject a <style>)"
