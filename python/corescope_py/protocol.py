"""The line protocol on the result pipe (docs/user/python.md): one record per line, fields separated
by tabs, the first field the record's kind, the others key=value. Values never hold a tab or a
newline (replaced by spaces)."""
import os
import sys
import threading


def clean(value):
    if isinstance(value, float):
        return repr(value)
    return str(value).replace("\t", " ").replace("\n", " ").replace("\r", " ")


def line(kind, **fields):
    return kind + "".join("\t%s=%s" % (k, clean(v)) for k, v in fields.items()) + "\n"


class Writer:
    """Writes whole lines to the result pipe; one write() per line, under a lock."""

    def __init__(self, fd):
        self.fd = fd
        self.lock = threading.Lock()

    def send(self, kind, **fields):
        data = line(kind, **fields).encode()
        with self.lock:
            while data:
                data = data[os.write(self.fd, data):]

    def outcome(self, out):
        """A worker's outcome: its samples, its verdict, its metrics (worker 0), its end."""
        w = out["worker"]
        for s in out.get("samples", []):
            self.send("sample", **s)
        if "verified" in out:
            self.send("verify", worker=w, ok=int(out["verified"]), error=out.get("verify_error", 0.0),
                      detail=out.get("verify_detail", ""))
        for name, value, units, long_name in out.get("metrics", []):
            self.send("metric", worker=w, name=name, value=float(value), units=units, long_name=long_name)
        self.send("outcome", worker=w, completed=int(out.get("completed", False)), error=out.get("error", ""))


def hello(writer, start_method, executable=None):
    from corescope_py.probe import gil_state
    writer.send("hello", python=executable or sys.executable, version="%d.%d.%d" % sys.version_info[:3],
                gil=gil_state(), start_method=start_method)
