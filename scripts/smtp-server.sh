#!/usr/bin/env bash
# Start a real SMTP server (aiosmtpd, STARTTLS and AUTH required) on loopback for the email
# tests; installs aiosmtpd into the repository's tool folder from PyPI the first time (it is not
# packaged on the CI machines, and only PyPI is reachable from CI), and makes a self-signed
# certificate for 127.0.0.1 with the openssl CLI when the folder has none.
#
# Usage: scripts/smtp-server.sh --port PORT --folder DIR --user NAME --password-file FILE [--implicit-tls]
#        scripts/smtp-server.sh --install-only     # prints the folder aiosmtpd is installed in
# The certificate is DIR/cert.pem (the test trusts it as the relay's CA) and DIR/key.pem; the
# messages land in DIR/mail/ (scripts/smtp_server.py says how). Runs until stdin closes.
set -euo pipefail

AIOSMTPD_VERSION="1.4.6"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools_dir="${LAUNCHPLANE_TOOLS_DIR:-$root/.tools}"
site="$tools_dir/python/aiosmtpd-$AIOSMTPD_VERSION"

die() { echo "smtp-server: $*" >&2; exit 1; }

command -v python3 >/dev/null || die "python3 is required"
# Tests start several servers at once: one installs, the others wait for it.
mkdir -p "$tools_dir/python"
if command -v flock >/dev/null; then
    exec 9>"$tools_dir/python/.aiosmtpd.lock"
    flock 9
fi
if ! PYTHONPATH="$site" python3 -c "import aiosmtpd, sys; sys.exit(aiosmtpd.__version__ != '$AIOSMTPD_VERSION')" 2>/dev/null; then
    python3 -m pip --version >/dev/null 2>&1 || die "python3 -m pip is required to install aiosmtpd"
    echo "smtp-server: installing aiosmtpd==$AIOSMTPD_VERSION from PyPI into $site" >&2
    rm -rf "$site.partial"
    python3 -m pip install --quiet --disable-pip-version-check --no-input --only-binary=:all: \
        --target "$site.partial" "aiosmtpd==$AIOSMTPD_VERSION" >&2 ||
        die "pip install of aiosmtpd==$AIOSMTPD_VERSION failed"
    rm -rf "$site"
    mv "$site.partial" "$site"
fi

# Installed: let the next one in.
exec 9>&- 2>/dev/null || true

if [[ "${1:-}" == "--install-only" ]]; then
    echo "$site"
    exit 0
fi

folder=""
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
    [[ "${args[$i]}" == "--folder" ]] && folder="${args[$((i + 1))]:-}"
done
[[ -n "$folder" ]] || die "--folder DIR is required"
mkdir -p "$folder"
if [[ ! -s "$folder/cert.pem" ]]; then
    command -v openssl >/dev/null || die "openssl is required to make the test certificate"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
        -addext "subjectAltName=IP:127.0.0.1" -addext "basicConstraints=critical,CA:FALSE" \
        -keyout "$folder/key.pem" -out "$folder/cert.pem" 2>/dev/null ||
        die "openssl could not make the test certificate"
fi

exec env PYTHONPATH="$site" python3 "$root/scripts/smtp_server.py" \
    --cert "$folder/cert.pem" --key "$folder/key.pem" "$@" --folder "$folder/mail"
