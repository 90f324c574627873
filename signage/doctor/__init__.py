"""``signage doctor``: everything a store screen needs, one line per check, with the fix when it fails.

Each check is a function of a ``Context`` (the settings as parsed, where each key sits in the file,
the environment, the clock) returning a ``Check``. Failures name where to fix them: the settings
file's line and key, the model file, the folder. A warning (no sound, the simulated camera, little
disk) is worth reading but does not stop a screen from playing; only failures make the exit code 1.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from signage.doctor.result import Check, Level
from signage.feed.broker import Broker
from signage.settings import PROJECT_ROOT, Settings, data_dir_problem
from signage.yamlconf import ConfigError, Finding, LocatedDocument, parse_yaml, read_text, validate_document

LOW_DISK_BYTES = 1 << 30  # warn under 1 GiB free: the journal and database grow
FULL_DISK_BYTES = 100 << 20  # fail under 100 MiB
MIN_YEAR = 2025  # a clock before this never synchronised (a board without a battery)
X11_SOCKETS = Path("/tmp/.X11-unix")


@dataclass(frozen=True)
class Context:
    settings: Settings | None  # None: the settings file is unusable (the "settings" check says why)
    doc: LocatedDocument | None  # None: built-in defaults, no file
    findings: tuple[Finding, ...] = ()
    models_dir: Path = PROJECT_ROOT / "models"
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    camera_timeout_s: float = 5.0
    broker: Broker | None = None  # --broker; None: the settings' feed.mqtt_url, if any

    def where(self, *key: str) -> str:
        """Where a fix goes: ``FILE:LINE:COLUMN (key)`` when the file sets it, else which file to add it to."""
        dotted = ".".join(key)
        if self.doc is None:
            return f"`{dotted}:` in a settings file (none given: built-in defaults)"
        if tuple(key) in self.doc.locations:
            line, column = self.doc.locate(key)
            return f"{dotted} at {self.doc.file}:{line}:{column}"
        return f"`{dotted}:` in {self.doc.file} (not set there: the default applies)"


def load_context(config: Path | None, **kwargs: Any) -> Context:
    """The settings as the player would read them, except that data-folder problems are a check of
    their own rather than a refusal."""
    if config is None:
        return Context(Settings().relative_to(Path.cwd()), None, **kwargs)
    try:
        doc = parse_yaml(read_text(config), str(config))
        settings = validate_document(doc, Settings).relative_to(config.resolve().parent)
    except ConfigError as exc:
        return Context(None, None, exc.findings, **kwargs)
    return Context(settings, doc, **kwargs)


# -- checks that need no settings ------------------------------------------------------------------
def check_settings(ctx: Context) -> Check:
    if ctx.settings is None:
        first = ctx.findings[0] if ctx.findings else None
        more = f" (and {len(ctx.findings) - 1} more)" if len(ctx.findings) > 1 else ""
        return Check(
            "settings",
            Level.FAIL,
            f"{first}{more}",
            "correct the file at that line; `signage run` refuses it",
        )
    source = ctx.doc.file if ctx.doc is not None else "built-in defaults (no --config)"
    return Check("settings", Level.OK, f"{source}: valid")


def _x_socket(display: str) -> tuple[int, Any] | None:
    """``:0`` -> the X server's unix socket; ``host:0`` -> its TCP address."""
    host, _, rest = display.rpartition(":")
    number = rest.split(".", 1)[0]
    if not number.isdigit():
        return None
    if host in ("", "unix"):
        return socket.AF_UNIX, str(X11_SOCKETS / f"X{number}")
    return socket.AF_INET, (host, 6000 + int(number))


def check_display(ctx: Context) -> Check:
    env = ctx.environ
    if env.get("WAYLAND_DISPLAY"):
        path = Path(env.get("XDG_RUNTIME_DIR", ""), env["WAYLAND_DISPLAY"])
        if path.exists():
            return Check("display", Level.OK, f"Wayland display {path}")
        return Check("display", Level.FAIL, f"WAYLAND_DISPLAY names {path}, which does not exist",
                     "log in to the screen's desktop session, or unset WAYLAND_DISPLAY")  # fmt: skip
    display = env.get("DISPLAY", "")
    if not display:
        running = sorted(p.name for p in X11_SOCKETS.glob("X*")) if X11_SOCKETS.is_dir() else []
        if running:
            return Check("display", Level.WARN, f"DISPLAY is not set here, but an X server runs ({running[0]})",
                         f"run `DISPLAY=:{running[0][1:]} signage doctor` to check it as the service sees it")  # fmt: skip
        return Check("display", Level.FAIL, "no display: DISPLAY is not set and no X server runs; the player would run headless",
                     "start the screen's desktop (display manager), or install the service with --display none for a headless player")  # fmt: skip
    address = _x_socket(display)
    if address is None:
        return Check("display", Level.FAIL, f"DISPLAY={display} is not a display name", "set DISPLAY=:0")
    family, target = address
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.settimeout(2.0)
            probe.connect(target)
    except OSError as exc:
        return Check("display", Level.FAIL, f"DISPLAY={display}: no X server answers at {target} ({exc.strerror or exc})",
                     "start the X server / display manager, or correct DISPLAY")  # fmt: skip
    return Check("display", Level.OK, f"DISPLAY={display} answers")


def check_sound(ctx: Context) -> Check:
    try:
        from signage.playback.vlcvideo import sound_device_present
    except (ImportError, OSError) as exc:
        return Check("sound", Level.SKIP, f"cannot check without libVLC ({exc})")
    if sound_device_present():
        return Check("sound", Level.OK, "a sound device is present")
    return Check("sound", Level.WARN, "no sound device (/dev/snd, PulseAudio): ads play silently",
                 "connect the speakers / HDMI audio, or ignore for a silent screen")  # fmt: skip


def check_libvlc(ctx: Context) -> Check:
    fix = "sudo apt-get install libvlc5 vlc-plugin-base vlc-plugin-video-output"
    try:
        import vlc

        instance = vlc.Instance(["--quiet", "--vout=dummy", "--aout=dummy"])
    except (ImportError, OSError, NameError, AttributeError) as exc:
        return Check("libvlc", Level.FAIL, f"libVLC cannot be loaded ({exc})", fix)
    if instance is None:
        return Check("libvlc", Level.FAIL, "libVLC is installed but does not start (plugins missing?)", fix)
    instance.release()
    return Check("libvlc", Level.OK, f"libVLC {vlc.libvlc_get_version().decode(errors='replace')}")


def check_models(ctx: Context) -> Check:
    if ctx.settings is not None and not ctx.settings.perception.enabled:
        return Check("models", Level.SKIP, f"perception is off ({ctx.where('perception', 'enabled')})")
    from classifier.attributes.manifest import MANIFEST_NAME, ModelError, read_manifest, verified_file

    fix = f"restore {ctx.models_dir} from a clean copy of this release (`git checkout -- models/`)"
    try:
        names = list(read_manifest(ctx.models_dir)["models"])
        verified = [verified_file(ctx.models_dir, name) for name in names]
    except ModelError as exc:
        return Check("models", Level.FAIL, str(exc).rstrip("."), fix)
    if not verified:
        return Check("models", Level.FAIL, f"{ctx.models_dir / MANIFEST_NAME} lists no model", fix)
    pinned = ", ".join(f"{path.name} sha256 {entry.sha256[:8]}" for path, entry in verified)
    return Check("models", Level.OK, f"{pinned}: match {MANIFEST_NAME}")


def timedatectl_ntp() -> str | None:
    """``yes``/``no`` from timedatectl, or None when it cannot say (absent, no systemd)."""
    binary = shutil.which("timedatectl")
    if binary is None:
        return None
    try:
        done = subprocess.run([binary, "show", "-p", "NTPSynchronized", "--value"], capture_output=True,
                              text=True, timeout=5, check=False)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    value = done.stdout.strip()
    return value if done.returncode == 0 and value in ("yes", "no") else None


def system_zone() -> str | None:
    """The system's time zone name from /etc/localtime's link, if it is one."""
    target = os.path.realpath("/etc/localtime")
    return target.split("zoneinfo/", 1)[1] if "zoneinfo/" in target else None


def check_clock(ctx: Context, ntp: Callable[[], str | None] = timedatectl_ntp) -> Check:
    if ctx.now.year < MIN_YEAR:
        return Check("clock", Level.FAIL, f"the clock says {ctx.now:%Y-%m-%d}: it was never set",
                     "enable time sync: sudo timedatectl set-ntp true (or install chrony)")  # fmt: skip
    zone = ctx.settings.timezone if ctx.settings is not None else "UTC"
    local = ctx.now.astimezone(ctx.settings.tz) if ctx.settings is not None else ctx.now
    detail = f"{local:%Y-%m-%d %H:%M} in {zone}"
    synced = ntp()
    if synced == "no":
        return Check("clock", Level.WARN, f"{detail}; NTP not synchronised", "sudo timedatectl set-ntp true")
    detail += (
        "; NTP synchronised" if synced == "yes" else "; NTP state unknown (timedatectl cannot tell here)"
    )
    system = system_zone()
    explicit = ctx.doc is not None and ("timezone",) in ctx.doc.locations
    if not explicit and system not in (None, "UTC", "Etc/UTC", zone):
        return Check("clock", Level.WARN, f"{detail}, but this computer is in {system}: rule hours are read in {zone}",
                     f"set {ctx.where('timezone')} to {system}")  # fmt: skip
    return Check("clock", Level.OK, detail)


def configured_broker(settings: Settings | None) -> Broker | None:
    """The audience feed's broker (``feed.mqtt_url``) when the settings name one."""
    feed = getattr(settings, "feed", None)  # the feed settings arrived with the audience feed
    url = getattr(feed, "mqtt_url", None)
    return Broker.from_url(url) if isinstance(url, str) and url else None


def _remaining_length(size: int) -> bytes:
    encoded = bytearray()
    while True:
        size, digit = divmod(size, 128)
        encoded.append(digit | (0x80 if size else 0))
        if not size:
            return bytes(encoded)


def _mqtt_string(text: str) -> bytes:
    data = text.encode()
    return len(data).to_bytes(2, "big") + data


def mqtt_connack(broker: Broker, timeout_s: float = 3.0) -> int:
    """Send an MQTT 3.1.1 CONNECT and return the CONNACK code (0: accepted); OSError when unreachable.

    Over TLS (``mqtts``) only the TCP connection is checked: -1."""
    with socket.create_connection((broker.host, broker.port), timeout=timeout_s) as conn:
        if broker.tls:
            return -1
        flags = 0x02  # clean session
        payload = _mqtt_string(f"signage-doctor-{os.getpid()}")
        if broker.username is not None:
            flags |= 0x80
            payload += _mqtt_string(broker.username)
            if broker.password is not None:
                flags |= 0x40
                payload += _mqtt_string(broker.password)
        body = b"\x00\x04MQTT\x04" + bytes([flags]) + b"\x00\x0a" + payload  # level 4, keep-alive 10 s
        conn.sendall(b"\x10" + _remaining_length(len(body)) + body)
        reply = conn.recv(4)
        if len(reply) < 4 or reply[0] != 0x20:
            raise OSError(f"{broker.host}:{broker.port} answered, but not as an MQTT broker")
        conn.sendall(b"\xe0\x00")  # DISCONNECT
        return reply[3]


def check_broker(ctx: Context) -> Check:
    broker, where = ctx.broker, "--broker"
    if broker is None:
        broker, where = configured_broker(ctx.settings), ctx.where("feed", "mqtt_url")
    if broker is None:
        return Check("broker", Level.SKIP, "no MQTT broker configured (feed.mqtt_url)")
    name = f"MQTT broker {broker.host}:{broker.port}"
    try:
        code = mqtt_connack(broker)
    except OSError as exc:
        return Check("broker", Level.FAIL, f"{name} unreachable ({exc.strerror or exc})",
                     f"start the broker (systemctl status mosquitto) or correct {where}")  # fmt: skip
    if code > 0:
        why = {4: "bad user name or password", 5: "not authorised"}.get(code, f"code {code}")
        return Check("broker", Level.FAIL, f"{name} refused the connection ({why})",
                     f"check the user and password in {where} and the broker's access settings")  # fmt: skip
    if code < 0:
        return Check("broker", Level.OK, f"{name} reachable (TLS: the MQTT handshake is not checked)")
    return Check("broker", Level.OK, f"{name} accepts connections")


def login_name(environ: Mapping[str, str]) -> str:
    """Who runs this (for a fix's ``install -o``): $USER or $LOGNAME, else the effective user's name
    (a service or ``env -i`` has neither variable)."""
    name = environ.get("USER") or environ.get("LOGNAME")
    if name:
        return name
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:  # a uid with no passwd entry (a container): install -o takes the number too
        return str(os.geteuid())


# -- checks of the configured screen ----------------------------------------------------------------
def check_data_dir(ctx: Context) -> Check:
    assert ctx.settings is not None
    path = ctx.settings.data_dir
    problem = data_dir_problem(path)
    if problem is None and path.is_dir():
        try:
            with tempfile.TemporaryFile(dir=path, prefix=".doctor-"):
                pass
        except OSError as exc:
            problem = f"the data folder {path} cannot be written: {exc.strerror}"
    if problem is not None:
        user = login_name(ctx.environ)
        return Check("data dir", Level.FAIL, problem,
                     f"sudo install -d -o {user} {path}, or set {ctx.where('data_dir')} to a writable folder")  # fmt: skip
    return Check("data dir", Level.OK, f"{path} is writable" if path.is_dir() else f"{path} will be created")


def check_disk(ctx: Context) -> Check:
    assert ctx.settings is not None
    probe = ctx.settings.data_dir
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    detail = f"{free / (1 << 30):.1f} GiB free under {probe}"
    fix = f"free space on that disk or move {ctx.where('data_dir')} to a larger one"
    if free < FULL_DISK_BYTES:
        return Check("disk", Level.FAIL, detail, fix)
    if free < LOW_DISK_BYTES:
        return Check("disk", Level.WARN, detail + " (under 1 GiB)", fix)
    return Check("disk", Level.OK, detail)


def check_camera(ctx: Context) -> Check:
    assert ctx.settings is not None
    from signage.doctor.camera import probe_camera

    return probe_camera(ctx.settings.camera, ctx.where("camera", "source"), ctx.camera_timeout_s)


def check_database(ctx: Context) -> Check:
    assert ctx.settings is not None
    from signage.doctor.database import probe_database

    return probe_database(ctx.settings, ctx.where("database_url"))


INDEPENDENT = (
    check_settings,
    check_display,
    check_sound,
    check_libvlc,
    check_models,
    check_clock,
    check_broker,
)
CONFIGURED = (check_camera, check_data_dir, check_disk, check_database)


def run_checks(ctx: Context, checks: Iterable[Callable[[Context], Check]] | None = None) -> list[Check]:
    results = []
    for check in checks if checks is not None else (*INDEPENDENT, *CONFIGURED):
        if check in CONFIGURED and ctx.settings is None:
            name = check.__name__.removeprefix("check_").replace("_", " ")
            results.append(Check(name, Level.SKIP, "the settings file is unusable (see above)"))
            continue
        results.append(check(ctx))
    return results


def exit_code(checks: Iterable[Check]) -> int:
    return 1 if any(c.level is Level.FAIL for c in checks) else 0
