#!/usr/bin/env bash
# The test command: installs what the outside-client tests need when it is missing
# (Debian's chromium, npm playwright-core, the official Alibaba Cloud Python SDK), then runs
# the whole suite with nothing skipped. Safe to run repeatedly.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ] || [ ! -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]; then
  # chromium, and a CJK font so that screenshots of the Chinese, Japanese and Korean texts
  # are legible (the checks read the DOM, not pixels)
  echo "installing chromium and fonts-wqy-microhei (Debian packages)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null
fi
if ! python3 -c "import alibabacloud_captcha20230305" 2>/dev/null; then
  echo "installing the Alibaba Cloud CAPTCHA Python SDK"
  python3 -m pip install -q -r tests/sdk/requirements.txt
fi
if [ ! -d tests/browser/node_modules/playwright-core ]; then
  echo "installing playwright-core (no browser download)"
  (cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --silent)
fi

STILE_REQUIRE_EXTERNAL=1 cargo test "$@"
