"""A real SMTP server for Launchplane's email tests: aiosmtpd on loopback with STARTTLS (or TLS
from the first byte) and AUTH required, writing every accepted message to a folder.

Started by scripts/smtp-server.sh (which installs aiosmtpd first); see there for usage.

Each accepted message becomes <folder>/NNNN.eml (the DATA as received) and NNNN.json (the
envelope, the AUTH login, whether TLS was on). A test steers the next DATA answer by writing
<folder>/fault-next: "451 4.3.0 Try later" (that reply, nothing stored) or "delay 5" (store the
message, answer 250 after 5 seconds). The file is consumed by the DATA it steers.
"""

import argparse
import warnings
import asyncio
import json
import os
import ssl
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


# aiosmtpd warns about its own deprecated attribute on each AUTH; noise in test logs.
warnings.filterwarnings("ignore", message=".*login_data")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password-file", required=True)
    p.add_argument("--folder", required=True)
    p.add_argument("--implicit-tls", action="store_true")
    args = p.parse_args()

    with open(args.password_file, "rb") as f:
        password = f.read().strip()
    user = args.user.encode()
    folder = args.folder
    os.makedirs(folder, exist_ok=True)

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(args.cert, args.key)

    def authenticator(server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        ok = auth_data.login == user and auth_data.password == password
        # auth_data is kept on the session, so the record can say who logged in.
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    class Handler:
        def __init__(self):
            self.seq = 0

        async def handle_DATA(self, server, session, envelope):
            fault = os.path.join(folder, "fault-next")
            delay = 0.0
            if os.path.exists(fault):
                with open(fault) as f:
                    what = f.read().strip()
                os.remove(fault)
                if what.startswith("delay "):
                    delay = float(what.split()[1])
                elif what:
                    return what
            self.seq += 1
            base = os.path.join(folder, f"{self.seq:04d}")
            with open(base + ".eml.partial", "wb") as f:
                f.write(envelope.original_content or envelope.content)
            login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
            meta = {
                "mail_from": envelope.mail_from,
                "rcpt_tos": envelope.rcpt_tos,
                "auth_login": login,
                # session.ssl is set by STARTTLS only; an implicit-TLS transport says so itself.
                "tls": session.ssl is not None
                or server.transport.get_extra_info("ssl_object") is not None,
                "received_at": time.time(),
            }
            with open(base + ".json", "w") as f:
                json.dump(meta, f)
            os.rename(base + ".eml.partial", base + ".eml")
            if delay:
                await asyncio.sleep(delay)
            return "250 Message accepted for delivery"

    common = dict(
        hostname=args.host,
        port=args.port,
        authenticator=authenticator,
        auth_required=True,
        server_hostname="launchplane-test-smtp",
    )
    if args.implicit_tls:
        # aiosmtpd's auth_require_tls looks only at STARTTLS; here every byte is under TLS.
        controller = Controller(Handler(), ssl_context=ctx, auth_require_tls=False, **common)
    else:
        controller = Controller(
            Handler(), tls_context=ctx, require_starttls=True, auth_require_tls=True, **common
        )
    controller.start()
    print(f"READY {args.host}:{args.port}", flush=True)
    try:
        # Until the parent closes our stdin (or kills us).
        sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
