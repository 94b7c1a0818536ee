"""The teams: a Worker that kernels talk to (SPMD, like corescope's C++ Worker), the run loop
(the one place that times), and the three ways to make a team: threads, processes, a pool."""
import concurrent.futures
import os
import queue
import signal
import threading
import time

from corescope_py import faults, isolation, probe
from corescope_py.kernels import find as find_kernel


REDUCE_SLOTS = 8  # the longest vector allreduce() takes
OPS = {"sum": sum, "min": min, "max": max}


class Params:
    def __init__(self, size, reps, warmup, values):
        self.size, self.reps, self.warmup, self.values = size, reps, warmup, dict(values)

    def get(self, key):
        return self.values[key]

    def get_int(self, key):
        return int(self.values[key])

    def get_float(self, key):
        return float(self.values[key])


class Resources:
    """What the team shares, made before the workers start: a barrier, reduction slots, a lock,
    named int64 counters the kernel asked for, the point-to-point channel."""

    def __init__(self, n, kind, ctx, counters, channel):
        self.kind = kind
        # Threads: the last thread to reach a barrier notes when it opens (it holds the GIL then).
        # A repetition starts there for every thread: a thread's wait for the GIL on the way out
        # of the barrier is part of its repetition, as in gil mode (docs/user/gil.md). Processes have
        # no shared GIL and start their clocks when they leave the barrier.
        self.opened = [0.0] if kind == "threads" else None
        if kind == "threads":
            # The scheduler records of a repetition (docs/dev/noise.md) are taken in the action of its
            # barrier, before it opens: (/proc/stat text, procs_running, each worker's CPU).
            self.record_next = False
            self.tids = [0] * n
            self.sched = (b"", -1, [-1] * n)
            self.barrier = threading.Barrier(n, action=self.note_opened)
            self.slots = [0.0] * (n * REDUCE_SLOTS)
            self.lock = threading.Lock()
            self.counters = {name: Cell() for name in counters}
        else:
            self.barrier = ctx.Barrier(n)
            self.slots = ctx.RawArray("d", n * REDUCE_SLOTS)
            self.lock = ctx.Lock()
            self.counters = {name: ctx.Value("q", 0) for name in counters}
        self.channel = make_channel(channel, kind, ctx) if channel else None


    def note_opened(self):
        if self.record_next:  # the barrier before a repetition (not one inside the kernel)
            self.record_next = False
            text = probe.read_proc_stat()
            self.sched = (text, probe.procs_running(text), [probe.current_cpu(tid) for tid in self.tids])
        self.opened[0] = time.perf_counter()


class Cell:
    """A shared int for threads, shaped like multiprocessing.Value (value, get_lock, get_obj)."""

    def __init__(self):
        self.value = 0
        self._lock = threading.Lock()

    def get_lock(self):
        return self._lock

    def get_obj(self):
        return self


def make_channel(name, kind, ctx):
    from corescope_py.channels import make
    return make(name, kind, ctx)


class Worker:
    def __init__(self, wid, count, rank, thread, res):
        self.id, self.count, self.rank, self.thread = wid, count, rank, thread
        self.res = res
        self.comm_s = 0.0

    def barrier(self):
        t0 = time.perf_counter()
        self.res.barrier.wait()
        self.comm_s += time.perf_counter() - t0

    def rep_barrier(self):
        """The barrier before a repetition and the scheduler records of docs/dev/noise.md, taken once it
        has opened, as a C++ worker takes them. A process reads them itself, right after the barrier
        and before its clock starts, and returns (/proc/stat text, runnable_start, cpu_start). A
        thread's clock starts when the barrier opens (its wait for the GIL is part of the
        repetition), so there the last thread to arrive reads them in the barrier's action, before
        it opens, while the others sleep in the barrier: returns None, and rep_records() gives them
        after the repetition."""
        if self.res.opened is None:
            self.barrier()
            text = probe.read_proc_stat()
            return text, probe.procs_running(text), probe.current_cpu()
        self.res.tids[self.id] = threading.get_native_id()
        self.res.record_next = True  # every barrier before this one has opened (SPMD)
        self.barrier()
        return None

    def rep_records(self, own):
        """The records of the repetition rep_barrier() began. procs_running read in the barrier's
        action counts one running worker of the team (the reader); the count - 1 others, asleep in
        the barrier, are added, so runnable_start means what it means in the C++ modes: the other
        runnable tasks plus the whole team, awake."""
        if own is not None:
            return own
        text, running, cpus = self.res.sched
        return text, running + self.count - 1 if running >= 0 else -1, cpus[self.id]

    def allreduce(self, value, op="sum"):
        return self.allreduce_list([value], op)[0]

    def allreduce_list(self, values, op="sum"):
        """Element-wise over the team, combined in worker order (every worker gets the same)."""
        k = len(values)
        assert k <= REDUCE_SLOTS
        slots = self.res.slots
        for j, v in enumerate(values):
            slots[self.id * REDUCE_SLOTS + j] = float(v)
        self.barrier()
        out = [OPS[op](slots[w * REDUCE_SLOTS + j] for w in range(self.count)) for j in range(k)]
        self.barrier()
        return out

    def counter(self, name):
        return self.res.counters[name]

    def lock(self):
        return self.res.lock

    def channel(self):
        return self.res.channel


def run_worker(w, module, p, fault):
    """setup, warm-up, timed repetitions (time.perf_counter around iterate() only), verify."""
    out = {"worker": w.id, "samples": [], "completed": False}
    base = probe.base_pss() if w.thread == 0 else -1
    kernel = module.Kernel()
    kernel.setup(w, p)
    for _ in range(p.warmup):
        kernel.iterate(w)
    sched = probe.SchedRecord()
    for rep in range(p.reps):
        own = w.rep_barrier()
        if fault and fault.victim == w.id and rep == fault.rep:
            fault.inject()
        comm0 = w.comm_s
        before = probe.Usage()
        t0 = time.perf_counter()
        if w.res.opened is not None:
            t0 = w.res.opened[0]
        kernel.iterate(w)
        t1 = time.perf_counter()
        after = probe.Usage()
        text, runnable, cpu_start = w.rep_records(own)
        sched.read(out["samples"], text)  # ends the previous repetition's steal window
        out["samples"].append(probe.sample(rep, w.id, w.rank, w.thread, t1 - t0, before, after, w.comm_s - comm0,
                                           last=rep + 1 == p.reps and w.thread == 0, base_pss=base,
                                           cpu_start=cpu_start, runnable_start=runnable))
    sched.read(out["samples"])  # ends the last repetition's steal window
    ok, error, detail = kernel.verify(w)
    out["verified"] = w.allreduce(1.0 if ok else 0.0, "min") > 0.5
    out["verify_error"] = w.allreduce(float(error), "max")
    out["verify_detail"] = detail
    out["metrics"] = kernel.metrics(w) if w.id == 0 else []
    if w.id != 0:
        kernel.metrics(w)  # collective
    w.barrier()
    out["completed"] = True
    return out


def worker_loop():
    """The loop every worker runs and its last argument: an isolate trial's isolation loop with its
    plan (isolation.py), else the run loop with the CORESCOPE_PY_FAULT fault (if any)."""
    plan = isolation.from_env()
    return (isolation.run_isolated, plan) if plan else (run_worker, faults.from_env())


def failed(wid, exc):
    text = "%s: %s" % (type(exc).__name__, exc) if str(exc) else type(exc).__name__
    return {"worker": wid, "samples": [], "completed": False, "error": text}


# --- threads -------------------------------------------------------------------------------------

def run_threads(args, writer, module, p):
    n = args.workers
    res = Resources(n, "threads", None, getattr(module, "COUNTERS", ()), args.channel)
    loop, extra = worker_loop()
    outcomes = [None] * n

    def body(wid):
        w = Worker(wid, n, 0, wid, res)
        try:
            outcomes[wid] = loop(w, module, p, extra)
        except threading.BrokenBarrierError:
            outcomes[wid] = {"worker": wid, "samples": [], "completed": False, "error": "", "aborted": True}
        except BaseException as exc:  # a worker's failure stops the team, as in corescope's thread modes
            outcomes[wid] = failed(wid, exc)
            res.barrier.abort()

    threads = [threading.Thread(target=body, args=(i,), name="corescope-worker-%d" % i) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for out in outcomes:
        writer.outcome(out)


# --- processes -----------------------------------------------------------------------------------

def child_parent(ctx):
    """The pid a worker process's parent has, for probe.die_with_parent: this process under fork
    and spawn; under forkserver the parent is the fork server, whose pid is not known here (None:
    no check)."""
    return None if ctx.get_start_method() == "forkserver" else os.getpid()


def process_main(wid, n, kernel_name, p, res, results, loop, extra, parent):
    probe.die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    module = find_kernel(kernel_name)
    w = Worker(wid, n, wid, 0, res)
    try:
        out = loop(w, module, p, extra)
    except threading.BrokenBarrierError:
        out = {"worker": wid, "samples": [], "completed": False, "error": "", "aborted": True}
    except BaseException as exc:
        out = failed(wid, exc)
        res.barrier.abort()
    results.put(out)
    results.close()
    results.join_thread()


def describe_exit(code):
    if code is None:
        return "still running"
    if code < 0:
        try:
            return "killed by signal %d (%s)" % (-code, signal.Signals(-code).name)
        except ValueError:
            return "killed by signal %d" % -code
    return "exited with code %d" % code


def run_processes(args, writer, module, p, ctx):
    n = args.workers
    res = Resources(n, "processes", ctx, getattr(module, "COUNTERS", ()), args.channel)
    loop, extra = worker_loop()
    plan = extra if loop is isolation.run_isolated else None
    if plan:
        isolation.supervisor(plan)
    results = ctx.Queue()
    procs = [ctx.Process(target=process_main, args=(i, n, args.kernel, p, res, results, loop, extra, child_parent(ctx)),
                         name="corescope-worker-%d" % i) for i in range(n)]
    for pr in procs:
        pr.start()
    outcomes = {}
    dead = {}
    while len(outcomes) + len(dead) < n:
        try:
            out = results.get(timeout=0.05)
            outcomes[out["worker"]] = out
            continue
        except queue.Empty:
            pass
        for i, pr in enumerate(procs):
            if i in outcomes or i in dead or pr.exitcode is None:
                continue
            # Ended: give its result a moment to arrive through the queue, then call it dead.
            try:
                out = results.get(timeout=0.5)
                outcomes[out["worker"]] = out
                break
            except queue.Empty:
                alive = sum(1 for j, other in enumerate(procs) if j != i and other.exitcode is None)
                dead[i] = "%s; %d of the %d other workers were alive then" % (describe_exit(pr.exitcode), alive, n - 1)
                if plan:
                    isolation.ended(plan, i, describe_exit(pr.exitcode))
                res.barrier.abort()  # the others stop at their next barrier
    for pr in procs:
        pr.join()
    for i in range(n):
        if i in outcomes:
            writer.outcome(outcomes[i])
        else:
            writer.outcome({"worker": i, "samples": [], "completed": False,
                            "error": "worker process (pid %d) %s" % (procs[i].pid, dead[i])})


# --- pool ----------------------------------------------------------------------------------------

_pool_state = {}


def pool_init(kernel_name, shared, fault, parent):
    probe.die_with_parent(parent)
    _pool_state["module"] = find_kernel(kernel_name)
    _pool_state["shared"] = shared
    _pool_state["fault"] = fault


def pool_call(task):
    """One task in a pool process: the kernel's task function, with its CPU and wall time."""
    fault = _pool_state["fault"]
    index, rep, arg = task
    if fault and fault.victim == index and fault.rep == rep:
        fault.inject()
    # the scheduler records (docs/dev/noise.md) around the task: runnable tasks and the CPU at its
    # start, the CPU at its end, the steal time of its first CPU from the read before to the read after
    text0 = probe.read_proc_stat()
    cpu_start = probe.current_cpu()
    before = probe.Usage()
    t0 = time.perf_counter()
    value = _pool_state["module"].pool_task(arg, _pool_state["shared"])
    t1 = time.perf_counter()
    after = probe.Usage()
    cpu_end = probe.current_cpu()
    sched = (probe.procs_running(text0), cpu_start, cpu_end,
             probe.steal_seconds(probe.read_proc_stat(), text0, cpu_start))
    memory = (probe.status_bytes("VmRSS"), probe.status_bytes("VmHWM"))
    return os.getpid(), t1 - t0, after.cpu_s - before.cpu_s, after, before, memory, value, sched


def run_pool(args, writer, module, p, ctx):
    """The queen (this process) hands each repetition's tasks to a pool of worker processes and
    combines their results; a repetition's wall time is the queen's, from the first submit to
    the last result."""
    n = args.workers
    if isolation.from_env():
        return run_pool_isolated(args, writer, p, ctx, isolation.from_env())
    plan = module.PoolPlan(p, n, ctx)
    fault = faults.from_env()
    index_of = {}
    samples = []
    outcome0 = {"worker": 0, "samples": samples, "completed": False}
    try:
        with concurrent.futures.ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=pool_init,
                                                    initargs=(args.kernel, plan.shared(), fault,
                                                              child_parent(ctx))) as pool:
            def batch(rep):
                tasks = [(i, rep, arg) for i, arg in enumerate(plan.tasks())]
                t0 = time.perf_counter()
                futures = [pool.submit(pool_call, t) for t in tasks]
                results = [f.result() for f in futures]
                t1 = time.perf_counter()
                plan.collect([r[6] for r in results])
                return t1 - t0, results

            for _ in range(p.warmup):
                batch(-1)
            for rep in range(p.reps):
                wall, results = batch(rep)
                per = {}
                # A pool process takes its tasks from the queue in submission order, so its first
                # result here is its first task of the repetition: runnable_start and cpu_start come
                # from that task, cpu from its last one, the context switches from the first task's
                # start to the last one's end (the waits for the next task included: where a pool
                # process gives its CPU up), the steal time of each task's own window summed.
                for pid, task_wall, task_cpu, after, before, memory, _, sched in results:
                    idx = index_of.setdefault(pid, len(index_of))
                    acc = per.setdefault(idx, {"busy": 0.0, "cpu": 0.0, "minor": 0, "major": 0, "first": before,
                                               "runnable": sched[0], "cpu_start": sched[1], "steal": 0.0})
                    acc["memory"], acc["last"], acc["cpu_end"] = memory, after, sched[2]  # after its last task
                    acc["busy"] += task_wall
                    acc["cpu"] += task_cpu
                    acc["minor"] += after.minor - before.minor
                    acc["major"] += after.major - before.major
                    acc["steal"] += sched[3]
                for idx in sorted(per):
                    a = per[idx]
                    rss, peak = a["memory"]
                    samples.append({"rep": rep, "worker": idx, "rank": idx, "thread": 0, "cpu": a["cpu_end"],
                                    "cpu_start": a["cpu_start"], "runnable_start": a["runnable"],
                                    "steal_s": a["steal"], "wall_s": wall, "cpu_s": a["cpu"], "compute_s": a["busy"],
                                    "comm_s": max(0.0, wall - a["busy"]), "rss_bytes": rss, "peak_rss_bytes": peak,
                                    "minor_faults": a["minor"], "major_faults": a["major"],
                                    "vol_ctx_switches": a["last"].vol - a["first"].vol,
                                    "invol_ctx_switches": a["last"].invol - a["first"].invol,
                                    "pss_bytes": -1, "uss_bytes": -1, "base_pss_bytes": -1})
        ok, error, detail = plan.verify()
        outcome0.update(verified=ok, verify_error=error, verify_detail=detail, metrics=plan.metrics(), completed=True)
    except Exception as exc:  # BrokenProcessPool when a pool process died; a task's own exception
        outcome0["error"] = "%s: %s" % (type(exc).__name__, exc)
    finally:
        plan.close()
    writer.outcome(outcome0)


# --- pool, in an isolate trial ---------------------------------------------------------------------

def pool_isolated_init(kernel_name, n, p, res, plan, parent):
    probe.die_with_parent(parent)
    _pool_state.update(module=find_kernel(kernel_name), n=n, p=p, res=res, plan=plan)


def pool_isolated_task(wid):
    s = _pool_state
    return isolation.run_isolated(Worker(wid, s["n"], wid, 0, s["res"]), s["module"], s["p"], s["plan"])


def run_pool_isolated(args, writer, p, ctx, plan):
    """An isolate trial in py-pool: one task per worker, each the whole isolation loop of that
    worker; the tasks meet at the start line, so each runs in a pool process of its own. The queen
    waits for every task and says how each pool process whose task did not come back ended."""
    n = args.workers
    isolation.supervisor(plan)
    res = Resources(n, "processes", ctx, (), "")
    outcomes, processes = {}, {}
    with concurrent.futures.ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=pool_isolated_init,
                                                initargs=(args.kernel, n, p, res, plan, child_parent(ctx))) as pool:
        futures = {pool.submit(pool_isolated_task, i): i for i in range(n)}
        # The pool's processes (CPython keeps them in _processes), to tell how each one ended.
        processes.update(getattr(pool, "_processes", None) or {})
        for f in concurrent.futures.as_completed(futures):
            wid = futures[f]
            try:
                outcomes[wid] = f.result()
            except concurrent.futures.process.BrokenProcessPool as exc:  # a pool process died
                outcomes[wid] = failed(wid, exc)
                outcomes[wid]["broken"] = True
            except Exception as exc:  # the task's own exception (its worker wrote a fail line)
                outcomes[wid] = failed(wid, exc)
    pids = isolation.worker_pids(plan)
    for wid in range(n):
        out = outcomes[wid]
        if out.pop("broken", False):
            proc = processes.get(pids.get(wid))
            how = describe_exit(proc.exitcode) if proc is not None else "its pool process is unknown"
            isolation.ended(plan, wid, how + " (BrokenProcessPool)")
        writer.outcome(out)
