"""Start everything with one command: ``python -m aigc_core.launcher [streamlit args]``.

Runs the job worker supervisor and ``streamlit run app.py`` as child processes, forwards SIGINT/SIGTERM to
both, and when one of them exits stops the other and exits non-zero (zero after a requested shutdown).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from aigc_core.settings import get_settings

log = logging.getLogger("aigc_core.launcher")

ROOT = Path(__file__).resolve().parent.parent
STOP_TIMEOUT_S = 30.0


def commands(streamlit_args: list[str]) -> dict[str, list[str]]:
    """The command line of each child process."""
    return {
        "worker": [sys.executable, "-m", "aigc_core.jobs.worker"],
        # scripts/serve.py is `streamlit run app.py` with the st.navigation router in charge from the first request.
        "app": [
            sys.executable,
            str(ROOT / "scripts" / "serve.py"),
            f"--server.maxUploadSize={get_settings().max_upload_mb}",
            f"--server.address={get_settings().server_address}",
            f"--server.port={get_settings().server_port}",
            *streamlit_args,
        ],
    }


def _stop(procs: dict[str, subprocess.Popen[bytes]], timeout_s: float) -> None:
    for proc in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    for name, proc in procs.items():
        try:
            proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop in %.0fs: killing it", name, timeout_s)
            proc.kill()
            proc.wait()


def prepare_store() -> None:
    """Create or upgrade the store's schema (the app and the launcher call it once per process)."""
    from aigc_core.store import init_store

    init_store()


def streamlit_option(args: list[str], name: str) -> str | None:
    """The value of ``--<name> V`` or ``--<name>=V`` among Streamlit's command-line arguments (last one wins)."""
    value = None
    for i, arg in enumerate(args):
        if arg == f"--{name}" and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith(f"--{name}="):
            value = arg.split("=", 1)[1]
    return value


def sign_in_banner(streamlit_args: list[str] | None = None) -> str:
    """What the terminal tells a new user about signing in (the first admin's set-up token, once); the address
    and port are the ones the app will listen on (settings, or Streamlit arguments given to the launcher)."""
    from aigc_core.users.accounts import setup_token, sign_in_required

    args = list(streamlit_args or [])
    settings = get_settings()
    address = streamlit_option(args, "server.address") or settings.server_address
    port = streamlit_option(args, "server.port") or str(settings.server_port)
    if address != settings.server_address:
        settings = settings.model_copy(update={"server_address": address})
    host = "localhost" if address in ("127.0.0.1", "localhost") else address
    url = f"http://{host}:{port}"
    if not sign_in_required(settings):
        return f"AIGC Studio: {url} (sign-in is off: AIGC_AUTH=off on this machine only)"
    token = setup_token(settings)
    if token is None:
        return f"AIGC Studio: {url} — sign in with your account (admins add users on the Users page)."
    return (
        f"AIGC Studio: {url}\n"
        "  No accounts yet. Open the link and create the first admin with this one-time set-up token:\n"
        f"      {token}\n"
        "  (or here: python -m aigc_core.users add --admin NAME)"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the worker and the app until one exits or a signal arrives; the exit code."""
    requested = {"signal": 0}

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        requested["signal"] = signum

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    from aigc_core.store import init_store

    settings = get_settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    init_store(settings)  # once, before the children, so they never race to create the schema
    from aigc_core.errors import AigcError

    try:
        print(sign_in_banner(list(sys.argv[1:] if argv is None else argv)), flush=True)
    except AigcError as exc:  # e.g. AIGC_AUTH=off while listening on the network: refuse to start
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 2
    env = dict(os.environ, AIGC_DATA_DIR=str(settings.resolved_data_dir))
    procs: dict[str, subprocess.Popen[bytes]] = {}
    for name, cmd in commands(list(sys.argv[1:] if argv is None else argv)).items():
        # Own process groups: a Ctrl-C in the terminal reaches the launcher only, which stops both in order.
        procs[name] = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)
        log.info("started %s (pid %d)", name, procs[name].pid)
    code = 0
    while True:
        if requested["signal"]:
            log.info("got %s: stopping the app and the worker", signal.Signals(requested["signal"]).name)
            break
        dead = [(n, p.returncode) for n, p in procs.items() if p.poll() is not None]
        if dead:
            name, rc = dead[0]
            log.error("%s exited with code %s: stopping the rest", name, rc)
            code = rc if rc and rc > 0 else 1
            break
        time.sleep(0.3)
    _stop(procs, max(STOP_TIMEOUT_S, settings.job_cancel_grace_s + 10))
    return code


if __name__ == "__main__":
    sys.exit(main())
