"""python3 -m corescope_py run ...: one run of a Python kernel in a Python mode, its samples on the
result pipe (--fd); `list`: the kernels and the Python modes their modules can run. Started by corescope's
py-threads, py-processes and py-pool modes (docs/user/python.md), which check the arguments first."""
import argparse
import multiprocessing
import sys

from corescope_py import protocol, team
from corescope_py.kernels import find, kinds, names

MODES = {"py-threads": "threads", "py-processes": "processes", "py-pool": "pool"}


def parse(argv):
    ap = argparse.ArgumentParser(prog="corescope_py")
    sub = ap.add_subparsers(dest="command", required=True)
    sub.add_parser("list")
    sub.add_parser("hello").add_argument("--fd", type=int, default=1)
    run = sub.add_parser("run")
    run.add_argument("--mode", choices=sorted(MODES), required=True)
    run.add_argument("--kernel", required=True)
    run.add_argument("--workers", type=int, required=True)
    run.add_argument("--size", type=int, required=True)
    run.add_argument("--reps", type=int, required=True)
    run.add_argument("--warmup", type=int, required=True)
    run.add_argument("--param", action="append", default=[])
    run.add_argument("--channel", default="")
    run.add_argument("--start-method", default="")
    run.add_argument("--switch-interval", type=float, default=0.0)
    run.add_argument("--fd", type=int, required=True)
    return ap.parse_args(argv)


def main(argv=None):
    args = parse(sys.argv[1:] if argv is None else argv)
    if args.command == "list":
        for name in names():
            print(name, " ".join("py-" + m for m in kinds(find(name))))
        return 0
    if args.command == "hello":
        protocol.hello(protocol.Writer(args.fd), "")
        return 0
    try:
        module = find(args.kernel)
    except KeyError:
        print(f"corescope_py: no Python kernel '{args.kernel}'; its kernels: {', '.join(names())}", file=sys.stderr)
        return 2
    writer = protocol.Writer(args.fd)
    kind = MODES[args.mode]
    if args.switch_interval > 0:  # py-threads --switch-interval (recorded as switch_interval_s)
        sys.setswitchinterval(args.switch_interval)
    ctx = multiprocessing.get_context(args.start_method) if kind != "threads" else None
    protocol.hello(writer, args.start_method if ctx else "")
    p = team.Params(args.size, args.reps, args.warmup, (kv.split("=", 1) for kv in args.param))
    if kind == "threads":
        team.run_threads(args, writer, module, p)
    elif kind == "processes":
        team.run_processes(args, writer, module, p, ctx)
    else:
        team.run_pool(args, writer, module, p, ctx)
    writer.send("end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
