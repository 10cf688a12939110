"""The committed bundle of npm libraries is exactly what the build makes from the pinned packages.

node/piazza/static/vendor/incoop-vendor.js is generated (node/piazza/web/build.mjs, esbuild) and
committed, so that a node serves its pages with no build step (docs/piazza.md, "The build"). This
test rebuilds it into a temporary directory from node/piazza/web/node_modules (which scripts/test
installs with `npm ci` from package-lock.json) and compares the bytes: a bundle edited by hand, or
left behind after a version bump in package.json, fails here with the command that rebuilds it.

- every package the bundle names in its header is pinned to an exact version in package.json,
  and package-lock.json holds that same version;
- the rebuild gives the committed file byte for byte.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WEB = ROOT / "node" / "piazza" / "web"
BUNDLE = ROOT / "node" / "piazza" / "static" / "vendor" / "incoop-vendor.js"
REBUILD = "cd node/piazza/web && npm ci && node build.mjs"
BUNDLED = ("@noble/ed25519", "@noble/hashes", "@noble/ciphers", "@msgpack/msgpack", "@scure/base", "jsqr", "uqr")


def test_every_bundled_package_is_pinned_and_locked():
    pinned = json.loads((WEB / "package.json").read_text())["devDependencies"]
    locked = json.loads((WEB / "package-lock.json").read_text())["packages"]
    header = BUNDLE.read_text(encoding="utf-8").split("\n", 12)[:12]
    for name in BUNDLED:
        version = pinned[name]
        assert version[0].isdigit() and all(part.isdigit() for part in version.split(".")), \
            f"{name} is pinned as {version!r}, not an exact version"
        assert locked[f"node_modules/{name}"]["version"] == version, f"package-lock.json disagrees on {name}"
        assert any(f"//   {name} {version} (" in line for line in header), \
            f"the bundle's header does not name {name} {version}: rebuild it ({REBUILD})"


def test_the_committed_bundle_is_what_the_build_makes(tmp_path):
    node = shutil.which("node")
    if node is None or not (WEB / "node_modules" / "esbuild").is_dir():
        pytest.fail("node/piazza/web's npm packages are missing: scripts/test installs them (npm ci in node/piazza/web)")
    rebuilt = tmp_path / "incoop-vendor.js"
    run = subprocess.run([node, "build.mjs", str(rebuilt)], cwd=WEB, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, f"node build.mjs failed:\n{run.stderr}"
    assert rebuilt.read_bytes() == BUNDLE.read_bytes(), (
        f"{BUNDLE.relative_to(ROOT)} is not what node/piazza/web/build.mjs makes from package-lock.json; "
        f"rebuild it and commit the result: {REBUILD}")
