# Installs the interop tests' npm packages (pinned by package-lock.json) into node_modules with
# `npm ci`, in this folder or in the folder given as the first argument (authcode/). Exits 0 even
# when the npm registry is unreachable: the tests that need the packages then report themselves
# skipped with the reason.
cd "${1:-$(dirname "$0")}" || exit 1
stamp=node_modules/.wdn-installed
if [ -f "$stamp" ] && [ "$stamp" -nt package-lock.json ]; then
    echo "npm packages already installed"
    exit 0
fi
log=$(mktemp /tmp/wdn-npm-ci-XXXXXX)
if timeout 300 npm ci --no-audit --no-fund >"$log" 2>&1; then
    touch "$stamp"
    echo "npm packages installed"
else
    echo "SKIP: npm ci failed (is the npm registry reachable?); the OAuth2 interop tests will be skipped"
    tail -5 "$log"
    rm -rf node_modules
fi
rm -f "$log"
exit 0
