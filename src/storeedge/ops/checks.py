"""Field checks for `storeedge doctor`: broker login, BlueZ, power, calibration, identity.

Each check yields :class:`Finding`s; none raises for what it finds on the box
(a missing file, a refused login, a wrong port): it says what is wrong and what
to do instead.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from storeedge.core.settings import MqttSettings, Settings

SERVICE_USER: Final = "storeedge"
SECRETS: Final = Path("/etc/storeedge/secrets.env")
PASSIVE_SINCE: Final = (5, 56)  # BlueZ's advertisement monitors (passive scanning)
CALIBRATION_STALE_DAYS: Final = 180
HWMON: Final = Path("/sys/class/hwmon")


@dataclass(frozen=True)
class Finding:
    level: str  # ok | warn | FAIL
    what: str
    fix: str = ""

    def line(self) -> str:
        text = f"{self.level:<4} {self.what}"
        return f"{text}\n     fix: {self.fix}" if self.fix else text


# --- who runs the checks --------------------------------------------------------------------


def load_secrets(path: Path = SECRETS, environ: dict[str, str] | None = None) -> bool:
    """Reads ``KEY=value`` lines (as systemd does) into the environment, keeping what is set."""
    env = os.environ if environ is None else environ
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return False
    for raw in text.splitlines():
        key, sep, value = raw.strip().partition("=")
        if not sep or key.startswith("#") or not key.isidentifier():
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        env.setdefault(key, value)
    return True


def become_service_user(user: str = SERVICE_USER) -> Finding | None:
    """As root, continue as the service user, so the checks see (and create) what it would."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        return Finding("warn", f"running as root: no user {user} yet", "run `storeedge install`")
    os.initgroups(user, entry.pw_gid)
    os.setgid(entry.pw_gid)
    os.setuid(entry.pw_uid)
    return Finding("ok", f"checks run as {user}, the service's user")


# --- the broker -----------------------------------------------------------------------------


def _ca_problem(mqtt: MqttSettings) -> Finding | None:
    if mqtt.ca_file is None:
        return None
    ca = mqtt.ca_file
    fix = f"copy central's CA certificate (PEM) to {ca}, mode 0644"
    try:
        text = ca.read_text(encoding="ascii", errors="replace")
    except FileNotFoundError:
        return Finding("FAIL", f"ca_file {ca} does not exist", fix)
    except OSError as exc:
        return Finding("FAIL", f"ca_file {ca} cannot be read ({exc.strerror})", fix)
    if "-----BEGIN CERTIFICATE-----" not in text:
        return Finding("FAIL", f"ca_file {ca} holds no PEM certificate", fix)
    return None


def tls_context(mqtt: MqttSettings) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(mqtt.ca_file) if mqtt.ca_file else None)
    if mqtt.cert_file is not None:
        context.load_cert_chain(str(mqtt.cert_file), str(mqtt.key_file or mqtt.cert_file))
    return context


def check_broker(settings: Settings, timeout: float = 3.0) -> Iterator[Finding]:
    """TCP, then TLS (with the CA file checked first), then an MQTT login."""
    mqtt = settings.mqtt
    where = f"{mqtt.host}:{mqtt.port}"
    try:
        raw = socket.create_connection((mqtt.host, mqtt.port), timeout=timeout)
    except OSError as exc:
        yield Finding(
            "FAIL",
            f"broker {where} unreachable ({exc.strerror or exc})",
            "check [mqtt] host/port, DNS, and that the store firewall allows it",
        )
        return
    context: ssl.SSLContext | None = None
    with raw:
        if not mqtt.tls:
            yield Finding("warn", f"broker {where} reachable WITHOUT TLS (tls = false)")
        else:
            problem = _ca_problem(mqtt)
            if problem is not None:
                yield problem
                return
            try:
                context = tls_context(mqtt)
            except (OSError, ssl.SSLError) as exc:
                yield Finding(
                    "FAIL", f"TLS settings unusable: {exc}", "check [mqtt] cert_file/key_file"
                )
                return
            finding = _handshake(context, raw, mqtt, where)
            yield finding
            if finding.level != "ok":
                return
    yield mqtt_login(settings, context, timeout)


def _handshake(
    context: ssl.SSLContext, raw: socket.socket, mqtt: MqttSettings, where: str
) -> Finding:
    try:
        with context.wrap_socket(raw, server_hostname=mqtt.host) as tls:
            return Finding("ok", f"broker {where} reachable, TLS {tls.version()} verified")
    except ssl.SSLCertVerificationError as exc:
        message = exc.verify_message or str(exc)
        if "hostname" in message.lower() or "ip address mismatch" in message.lower():
            fix = f"[mqtt] host must be a name on the broker's certificate (not {mqtt.host})"
        else:
            fix = "check [mqtt] ca_file is central's CA (the one that signed the broker)"
        return Finding("FAIL", f"TLS to {where}: certificate not trusted ({message})", fix)
    except (ssl.SSLError, ConnectionResetError, TimeoutError, OSError) as exc:
        # NB: a plaintext MQTT listener reads the TLS hello as garbage and hangs up.
        return Finding(
            "FAIL",
            f"port {mqtt.port} of {mqtt.host} does not speak TLS ({exc})",
            "check [mqtt] port: central's TLS port (usually 8883), not the plaintext one (1883)",
        )


_LOGIN_FIX: Final = {
    "Bad user name or password": "check [mqtt] username and STOREEDGE_MQTT_PASSWORD in secrets.env",
    # NB: mosquitto answers a wrong password with "Not authorized" under MQTT 3.1.1.
    "Not authorized": "check [mqtt] username and STOREEDGE_MQTT_PASSWORD in secrets.env; "
    "if both are right, ask central to allow this username on the broker",
}


def running_service_link(settings: Settings, timeout: float = 2.0) -> Finding | None:
    """The running service's own MQTT state (from /healthz on loopback), if it runs."""
    host = settings.web.host if settings.web.host not in ("", "0.0.0.0", "::") else "127.0.0.1"  # noqa: S104  # NB: a name to map, not a bind
    where = f"[{host}]" if ":" in host else host
    body: Any = None
    for scheme in ("http", "https"):
        context = ssl._create_unverified_context() if scheme == "https" else None  # noqa: S323  # NB: this box's own service, asked for its state only
        try:
            with urllib.request.urlopen(  # noqa: S310  # NB: built from the config's own host and port
                f"{scheme}://{where}:{settings.web.port}/healthz", timeout=timeout, context=context
            ) as response:
                body = json.loads(response.read(1_000_000))
        except urllib.error.HTTPError as exc:  # NB: 503 still carries the body
            body = json.loads(exc.read(1_000_000) or b"null")
        except (OSError, ValueError):
            continue
        break
    mqtt = body.get("mqtt") if isinstance(body, dict) else None
    if not isinstance(mqtt, dict):
        return None
    if mqtt.get("healthy"):
        return Finding("ok", "MQTT login by the running service: connected")
    error = mqtt.get("last_error") or "no error yet"
    return Finding(
        "FAIL",
        f"the running service is not connected to the broker ({error})",
        "check [mqtt] username and STOREEDGE_MQTT_PASSWORD; `journalctl -u storeedge -g MQTT`",
    )


def mqtt_login(settings: Settings, context: ssl.SSLContext | None, timeout: float) -> Finding:
    """A real MQTT CONNECT with the edge's credentials, harmless to the edge's session.

    # NB: a broker set up as docs/sync.md says (use_username_as_clientid) gives this
    # connection the edge's own client id whatever we ask for. So: only when the service
    # is not running (else its own state is read), never a clean session (that would
    # discard the edge's queued messages), no subscription, and nothing acknowledged
    # (what the broker hands us comes back to the edge at its next connect).
    """
    running = running_service_link(settings)
    if running is not None:
        return running
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

    mqtt = settings.mqtt
    client = paho.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=f"{settings.store.id}-{settings.store.edge_id}-doctor",
        protocol=MQTTProtocolVersion.MQTTv311,
        clean_session=False,
        manual_ack=True,
    )
    if mqtt.username:
        client.username_pw_set(mqtt.username, mqtt.password)
    if context is not None:
        client.tls_set_context(context)
    answered = threading.Event()
    result: dict[str, Any] = {}

    def on_connect(_c: Any, _u: Any, _f: Any, reason: Any, _p: Any = None) -> None:
        result["reason"] = reason
        answered.set()

    client.on_connect = on_connect
    try:
        client.connect(mqtt.host, mqtt.port, keepalive=10)
        client.loop_start()
        answered.wait(timeout)
    except (OSError, ssl.SSLError, ValueError) as exc:
        return Finding("FAIL", f"MQTT connect failed: {exc}", "check [mqtt] host, port and tls")
    finally:
        client.disconnect()
        client.loop_stop()
    reason = result.get("reason")
    who = f"as {mqtt.username}" if mqtt.username else "anonymously"
    if reason is None:
        return Finding("FAIL", f"MQTT login {who}: no answer in {timeout:.0f} s", "check the port")
    if getattr(reason, "is_failure", False):
        text = str(reason)
        return Finding("FAIL", f"MQTT login {who} refused: {text}", _LOGIN_FIX.get(text, ""))
    return Finding("ok", f"MQTT login {who} accepted")


# --- the box --------------------------------------------------------------------------------


def _run(cmd: list[str]) -> str | None:
    exe = shutil.which(cmd[0])
    if exe is None:
        return None
    try:
        done = subprocess.run(
            [exe, *cmd[1:]], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def check_bluez(
    version: Callable[[], str | None] = lambda: _run(["bluetoothctl", "--version"]),
    main_conf: Path = Path("/etc/bluetooth/main.conf"),
) -> Iterator[Finding]:
    found = re.search(r"(\d+)\.(\d+)", version() or "")
    if found is None:
        yield Finding("FAIL", "BlueZ not found", "apt-get install bluez")
        return
    major_minor = (int(found.group(1)), int(found.group(2)))
    text = main_conf.read_text(encoding="utf-8") if main_conf.is_file() else ""
    experimental = re.search(r"^\s*Experimental\s*=\s*true\s*$", text, re.M | re.I) is not None
    name = f"BlueZ {found.group(0)}"
    if major_minor < PASSIVE_SINCE:
        yield Finding("warn", f"{name}: no passive scanning (needs 5.56); active scan is used",
                      "upgrade bluez (Debian 12 ships 5.66)")  # fmt: skip
    elif not experimental:
        yield Finding(
            "warn",
            f"{name}: passive scanning off (Experimental is not set in {main_conf})",
            "`storeedge install` sets it; then systemctl restart bluetooth",
        )
    else:
        yield Finding("ok", f"{name} with passive scanning (advertisement monitors)")


def check_power(
    hwmon: Path = HWMON,
    throttled: Callable[[], str | None] = lambda: _run(["vcgencmd", "get_throttled"]),
) -> Iterator[Finding]:
    """Raspberry Pi under-voltage, where the firmware tells (hwmon rpi_volt, or vcgencmd)."""
    fix = "use the official 5 V supply (Pi 4: 3 A, Pi 5: 5 A) and a short cable"
    for sensor in sorted(hwmon.glob("hwmon*")) if hwmon.is_dir() else []:
        try:
            if (sensor / "name").read_text().strip() != "rpi_volt":
                continue
            alarm = (sensor / "in0_lcrit_alarm").read_text().strip()
        except OSError:
            continue
        if alarm == "1":
            yield Finding("FAIL", "under-voltage now (radios and SD card misbehave)", fix)
        else:
            yield Finding("ok", "supply voltage ok (firmware sensor)")
        return
    answer = throttled()
    found = re.search(r"throttled=0x([0-9a-fA-F]+)", answer or "")
    if found is None:
        return  # NB: not a Raspberry Pi, or its firmware does not say
    bits = int(found.group(1), 16)
    if bits & 0x1:
        yield Finding("FAIL", "under-voltage now (radios and SD card misbehave)", fix)
    elif bits & 0x10000:
        yield Finding("warn", "under-voltage happened since boot", fix)
    else:
        yield Finding("ok", "supply voltage ok since boot")


def check_calibration(
    settings: Settings, now: Callable[[], float] = time.time
) -> Iterator[Finding]:
    presence = getattr(settings, "presence", None)
    path: Path | None = getattr(presence, "calibration_file", None)
    if path is None:
        yield Finding(
            "warn",
            "no calibration file: receivers use default levels",
            "walk the store and run `storeedge calibrate` (docs/operations.md)",
        )
        return
    try:
        age_days = (now() - path.stat().st_mtime) / 86400
    except OSError:
        yield Finding("FAIL", f"calibration file {path} missing", "run `storeedge calibrate` again")
        return
    if age_days > CALIBRATION_STALE_DAYS:
        yield Finding("warn", f"calibration is {age_days:.0f} days old",
                      "recalibrate after moving receivers or refitting the store")  # fmt: skip
    else:
        yield Finding("ok", f"calibration {age_days:.0f} days old")
