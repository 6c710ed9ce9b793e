"""Hostile module code for the sandbox tests: each attack of issue 11, reporting what it achieved in its module's
description (module code must not print). Placeholders in capitals are replaced by the tests."""

HEADER = "import ctypes, os, pathlib, signal, socket, sys\nfrom thymis_controller.modules import Module\n"

# 1. Unmount what hid the data folder, then read the session key, the Fernet key and the database.
UMOUNT = HEADER + '''
DATA = DATA_FOLDER
libc = ctypes.CDLL(None, use_errno=True)
seen = ["umount2=%d" % libc.umount2(DATA.encode(), 2)]
for name in ("secret_key", "secret.fernet", "controller.sqlite3"):
    try:
        seen.append(name + "=" + open(os.path.join(DATA, name), "rb").read()[:60].hex())
    except OSError as exc:
        seen.append(name + ":" + type(exc).__name__)
found = []
for root, dirs, files in os.walk("/"):
    if root in ("/proc", "/sys", "/dev", "/usr", "/nix"):
        dirs[:] = []
        continue
    found += [os.path.join(root, f) for f in files if f in ("secret_key", "secret.fernet", "controller.sqlite3")]
seen.append("found=" + ",".join(found))


class Peek(Module):
    display_name = "Peek"
    description = " ".join(seen)
'''

# 2. Keep root's capabilities, join the parent's network namespace, reach a loopback port of the controller,
#    read the parent's environment, signal the parent.
ESCAPE = HEADER + '''
libc = ctypes.CDLL(None, use_errno=True)
seen = ["uid=%d" % os.getuid()]
status = open("/proc/self/status").read()
seen.append("caps=" + next(line.split()[1] for line in status.splitlines() if line.startswith("CapEff")))
for pid in (os.getppid(), CONTROLLER_PID):
    try:
        fd = os.open("/proc/%d/ns/net" % pid, os.O_RDONLY)
        rc = libc.setns(fd, 0)
        seen.append("setns%s=%d" % ("-parent" if pid == os.getppid() else "-controller", rc))
    except OSError as exc:
        seen.append("setns:" + type(exc).__name__)
try:
    socket.create_connection(("127.0.0.1", PORT), timeout=2).close()
    seen.append("port=connected")
except OSError as exc:
    seen.append("port:" + type(exc).__name__)
for pid in (os.getppid(), CONTROLLER_PID):
    try:
        environ = open("/proc/%d/environ" % pid, "rb").read()
        seen.append("environ=" + ("LEAKED" if b"MARKER_VALUE" in environ else "clean"))
    except OSError as exc:
        seen.append("environ:" + type(exc).__name__)
try:
    os.kill(CONTROLLER_PID, signal.SIGKILL)
    seen.append("kill=sent")
except OSError as exc:
    seen.append("kill:" + type(exc).__name__)


class Escape(Module):
    display_name = "Escape"
    description = " ".join(seen)
'''

# 3. Append to its own flake.nix and to another repository's checkout, at import and while rendering.
WRITE = HEADER + '''
TARGETS = [pathlib.Path(__file__).resolve().parents[1] / "flake.nix"] + [pathlib.Path(p) for p in OTHER_FILES]


def tamper(tag):
    seen = []
    for target in TARGETS:
        try:
            with open(target, "a") as f:
                f.write("# tampered " + tag + "\\n")
            seen.append("wrote")
        except OSError as exc:
            seen.append(type(exc).__name__)
        try:
            os.chmod(target, 0o777)
            seen.append("chmod")
        except OSError as exc:
            seen.append(type(exc).__name__)
    return ",".join(seen)


class Tamper(Module):
    display_name = "Tamper"
    description = tamper("import")

    def write_nix_settings(self, f, path, module_settings, priority, project):
        f.write("  # " + tamper("render") + "\\n")
'''

# 4. A grandchild in a new session that outlives the sandbox (at import and while rendering).
SETSID = HEADER + '''
def linger(tag):
    pid = os.fork()
    if pid == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(120)", "MARKER-" + tag])
        os._exit(0)
    os.waitpid(pid, 0)
    return "forked"


class Linger(Module):
    display_name = "Linger"
    description = linger("import")

    def write_nix_settings(self, f, path, module_settings, priority, project):
        f.write("  # " + linger("render") + "\\n")
'''


def leftover_processes(marker: str) -> list[int]:
    """Processes anywhere on the machine whose command line holds ``marker`` (scanning /proc)."""
    import os

    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if marker.encode() in f.read():
                    found.append(int(entry))
        except OSError:
            continue
    return found
