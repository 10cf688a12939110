# Sourced by scripts/test: what the browser tests (tests/browser/) need on a fresh machine, installed
# once: Debian's chromium (Playwright drives it; no browser download) and node/piazza/web's npm
# packages (axe-core for the accessibility checks, esbuild for the up-to-date check of the build).
apt_install() {
    if [ "$(id -u)" != 0 ]; then
        echo "the browser tests need Debian's $* (as root: apt-get install $*)" >&2
        exit 1
    fi
    echo "installing $* (apt-get)" >&2
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
if [ -z "${INCOOP_CHROMIUM:-}" ] && ! command -v chromium >/dev/null; then
    apt_install chromium
fi
if ! command -v npm >/dev/null; then
    apt_install nodejs npm
fi
WEB="$ROOT/node/piazza/web"
if [ ! -f "$WEB/node_modules/.package-lock.json" ] || [ "$WEB/package-lock.json" -nt "$WEB/node_modules/.package-lock.json" ]; then
    echo "installing the piazza's npm packages (npm ci in node/piazza/web)" >&2
    npm ci --prefix "$WEB" --no-audit --no-fund --loglevel=error >&2
fi
