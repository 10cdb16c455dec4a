"""Run one submission's code cells in a fresh kernel, with the grader's hidden cells.

The kernel executes, in order: a *prologue* (imports every exercise module, then emits the
baseline integrity fingerprint), then each student code cell followed by a *collector*
that drains the answers recorded by ``check()`` and emits them with the current
fingerprint, tagged with a per-submission nonce (the answers are graded later, by the
grader's judge: nothing the kernel emits is a verdict). Hidden cells run with
``store_history=False`` (they do not appear in ``In``/``Out`` or change execution counts)
and ``exec`` their code in a private namespace. Their source is built here, in the
grader's process, from the grader's own copy of :mod:`eoslib.grading.fingerprint`.

Student cells get a wall-clock limit; on expiry the kernel is interrupted and execution
continues. A kernel that ignores the interrupt for another full limit is killed, as is
one that dies; the remaining cells are reported as not run.
"""

from __future__ import annotations

import atexit
import inspect
import sys
from dataclasses import dataclass, field
from typing import Any

# jsonschema (imported by nbformat) imports the optional rfc3987_syntax, which builds a
# grammar for ~2 s of CPU at import; nbformat never validates the "iri" formats it serves,
# so the grader's processes do without it (jsonschema then skips that format check).
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

from nbclient import NotebookClient  # noqa: E402
from nbclient.exceptions import DeadKernelError  # noqa: E402
from nbformat import NotebookNode  # noqa: E402
from nbformat.v4 import new_code_cell, new_notebook, new_output  # noqa: E402

from . import fingerprint as _fingerprint_module  # noqa: E402
from . import limits  # noqa: E402
from .kernels import PreparedKernel, loop  # noqa: E402
from .session import MIMETYPE, VERDICT_KEYS  # noqa: E402

OUTPUT_LIMIT = 100_000  # characters of output kept per student cell
HIDDEN_CELL_TIMEOUT = 300.0

_FINGERPRINT_SOURCE = inspect.getsource(_fingerprint_module)

_PROLOGUE = """
import importlib
importlib.import_module("eoslib.grading.kernel").begin()
from IPython.display import publish_display_data
publish_display_data({MIMETYPE: {"stage": "prologue", "fingerprint": fingerprint()}})
"""

_COLLECTOR = """
import sys as _sys
_sys.last_type = _sys.last_value = _sys.last_traceback = None  # frees a failed cell's frames
_fp = fingerprint()
_session = _sys.modules.get("eoslib.grading.session")
_store = getattr(_session, "__dict__", {}).get("_STORE")
_records = list(_store) if isinstance(_store, list) else None
if _records is not None:
    del _store[:]
from IPython.display import publish_display_data
publish_display_data({MIMETYPE: {"nonce": NONCE, "records": _records, "fingerprint": _fp}})
"""


def _hidden_source(body: str, nonce: str) -> str:
    code = _FINGERPRINT_SOURCE + body.replace("MIMETYPE", repr(MIMETYPE)).replace(
        "NONCE", repr(nonce)
    )
    return (
        f"exec(compile({code!r}, '<eoslib-grader>', 'exec'), {{'__name__': '__eoslib_grader__'}})"
    )


@dataclass
class CellRun:
    """What happened to one student code cell (``index`` = position in the notebook)."""

    index: int
    status: str = "not run"  # ok | error | timeout | died | stuck | not run
    error: str = ""
    records: list[dict[str, Any]] = field(default_factory=list)
    fingerprint: dict[str, str] | None = None
    collector_problem: str = ""
    limit_problem: str = ""  # a limit the cell broke (memory, leftover process), in words
    forgeries: list[tuple[str | None, str]] = field(default_factory=list)  # (question, what)


@dataclass
class Execution:
    """The outcome of running a submission: baseline fingerprint and per-cell runs."""

    baseline: dict[str, str] | None = None
    setup_error: str = ""
    cells: list[CellRun] = field(default_factory=list)
    after_shutdown: str = ""  # processes still running after the kernel was shut down
    kernel_pid: int | None = None


class _KernelStuck(Exception):
    """The kernel did not react to an interrupt within another time limit."""


class _Client(NotebookClient):
    """NotebookClient that caps output per cell and remembers timeouts and replies."""

    def __init__(self, nb: NotebookNode, *, capped: set[int], **kwargs: Any) -> None:
        super().__init__(nb, **kwargs)
        self.capped = capped
        self.current = -1
        self.timed_out: set[int] = set()
        self.contained = False  # the kernel is PID 1 of its own namespace (sandboxed)
        self.replies: dict[int, dict[str, Any]] = {}
        self._sizes: dict[int, int] = {}
        self.on_cell_executed = self._remember_reply

    def _remember_reply(self, cell: Any, cell_index: int, execute_reply: Any) -> None:
        if isinstance(execute_reply, dict):
            self.replies[cell_index] = execute_reply.get("content", {})

    async def _async_handle_timeout(
        self, timeout: int, cell: NotebookNode | None = None
    ) -> None | dict[str, Any]:
        if self.current in self.timed_out:
            raise _KernelStuck()
        self.timed_out.add(self.current)
        return await super()._async_handle_timeout(timeout, cell)

    def output(
        self, outs: list[NotebookNode], msg: dict[str, Any], display_id: str | None, cell_index: int
    ) -> NotebookNode | None:
        if cell_index not in self.capped:
            return super().output(outs, msg, display_id, cell_index)
        used = self._sizes.get(cell_index, 0)
        if used > OUTPUT_LIMIT:
            return None
        content = msg.get("content", {})
        size = len(str(content.get("text", ""))) + sum(
            len(str(v)) for v in (content.get("data") or {}).values()
        )
        self._sizes[cell_index] = used + size
        if used + size > OUTPUT_LIMIT:
            self._sizes[cell_index] = OUTPUT_LIMIT + 1
            note = f"[output truncated by the grader after {OUTPUT_LIMIT} characters]\n"
            out = new_output("stream", name="stderr", text=note)
            outs.append(out)
            return out
        return super().output(outs, msg, display_id, cell_index)


def _reply_error(content: dict[str, Any]) -> str:
    ename = str(content.get("ename", "Error"))
    evalue = str(content.get("evalue", "")).strip().splitlines()
    first = evalue[0][:300] if evalue else ""
    return f"{ename}: {first}" if first else ename


def _payloads(cell: NotebookNode) -> list[Any]:
    return [
        out["data"][MIMETYPE]
        for out in cell.get("outputs", [])
        if out.get("output_type") == "display_data" and MIMETYPE in out.get("data", {})
    ]


def _read_collector(run: CellRun, cell: NotebookNode, content: dict[str, Any], nonce: str) -> None:
    if content.get("status") != "ok":
        run.collector_problem = "the grader's hidden cell failed: " + _reply_error(content)
        return
    payloads = [p for p in _payloads(cell) if isinstance(p, dict)]
    genuine = [p for p in payloads if p.get("nonce") == nonce]
    if len(payloads) != 1 or len(genuine) != 1:
        run.collector_problem = "the grader's hidden output was missing or forged"
        return
    records = genuine[0].get("records")
    run.fingerprint = genuine[0].get("fingerprint")
    if not isinstance(records, list):
        run.collector_problem = "the grader's answer store was replaced"
        return
    run.records = [_vet_record(r) for r in records if isinstance(r, dict)]


def _vet_record(record: dict[str, Any]) -> dict[str, Any]:
    """A record as ``check()`` makes it, or marked ``forged`` (it carries a verdict)."""
    verdict_keys = sorted(VERDICT_KEYS & set(record))
    if verdict_keys:
        shown = ", ".join(verdict_keys)
        record["forged"] = (f"a record from the kernel carried a verdict ({shown}): the "
                            "submission forged the grader's answer store "
                            "(eoslib.grading.session) or patched its channel; the grader "
                            "computes verdicts itself, in its judge")
    elif not isinstance(record.get("id"), str) or ("answer" in record) == ("error" in record):
        record["forged"] = "the submission wrote a malformed record into the grader's store"
    return record


def forged_outputs(cell: NotebookNode) -> list[tuple[str | None, str]]:
    """Messages in the grader's format that a *student* cell displayed: (question, what)."""
    found: list[tuple[str | None, str]] = []
    for payload in _payloads(cell):
        records = payload.get("records") if isinstance(payload, dict) else None
        ids = [r.get("id") for r in records or [] if isinstance(r, dict)]
        ids = [i for i in ids if isinstance(i, str)] or [None]
        passed = any(isinstance(r, dict) and r.get("passed") for r in records or [])
        what = ("the submission displayed a grader message" + (" claiming 'passed'" if passed
                else "") + " (a replay or forgery of the grader's channel); the grader reads "
                "verdicts only from its judge")  # fmt: skip
        found += [(qid, what) for qid in ids]
    return found


async def _run(
    sources: list[tuple[int, str]],
    *,
    prepared: PreparedKernel,
    timeout: float,
    nonce: str,
    memory_limit: int,
) -> Execution:
    execution = Execution(cells=[CellRun(index) for index, _ in sources])
    prologue = limits.prologue_source(memory_limit) + _PROLOGUE
    cells = [new_code_cell(_hidden_source(prologue, nonce))]
    for _, source in sources:
        cells += [new_code_cell(source), new_code_cell(_hidden_source(_COLLECTOR, nonce))]
    nb = new_notebook(cells=cells)
    student = set(range(1, len(cells), 2))
    budgets = {id(cell): (timeout if i in student else max(timeout, HIDDEN_CELL_TIMEOUT))
              for i, cell in enumerate(cells)}  # fmt: skip
    client = _Client(
        nb,
        km=prepared.km,
        capped=student,
        timeout_func=lambda cell: budgets.get(id(cell), timeout),
        allow_errors=True,
        interrupt_on_timeout=True,
        shutdown_kernel="immediate",
        startup_timeout=120,
        iopub_timeout=10,
        resources={"metadata": {"path": str(prepared.workdir)}},
    )
    env = prepared.env
    client.contained = prepared.sandboxed
    launch = {"cleanup_kc": True}  # started already; still shut down at the end
    try:
        async with client.async_setup_kernel(**launch):
            execution.kernel_pid = _kernel_pid(client)
            await _execute_all(client, cells, execution, nonce, env, memory_limit)
    except (DeadKernelError, _KernelStuck, RuntimeError, TimeoutError, AssertionError) as exc:
        if not execution.setup_error and execution.baseline is None:
            execution.setup_error = f"kernel failed to start: {type(exc).__name__}: {exc}"
    finally:
        atexit.unregister(client._cleanup_kernel)  # nbclient leaves it after a failed start
    marker = env.get(limits.MARKER_VARIABLE, "")
    scan = bool(marker) and not prepared.sandboxed  # a sandbox dies whole with its PID 1
    survivors = [p for p in limits.leftovers(None, marker) if p.pid != execution.kernel_pid
                 ] if scan else []  # fmt: skip
    if survivors:
        limits.kill_all(survivors)
        execution.after_shutdown = limits.leftover_reason(survivors)
    return execution


def _kernel_pid(client: _Client) -> int | None:
    process = getattr(getattr(client.km, "provisioner", None), "process", None)
    pid = getattr(process, "pid", None)
    return pid if isinstance(pid, int) else None


def _check_limits(run: CellRun, client: _Client, env: dict[str, str], memory_limit: int) -> None:
    """Kill what the cell left running and name the limit it broke, if any."""
    marker = env.get(limits.MARKER_VARIABLE, "")
    survivors = limits.leftovers(_kernel_pid(client), marker, contained=client.contained)
    if survivors:
        limits.kill_all(survivors)
        run.limit_problem = limits.leftover_reason(survivors)
    elif run.status == "error" and run.error.split(":", 1)[0] == "MemoryError":
        run.limit_problem = limits.memory_reason(memory_limit)


async def _execute_all(
    client: _Client,
    cells: list[NotebookNode],
    execution: Execution,
    nonce: str,
    env: dict[str, str],
    memory_limit: int,
) -> None:
    client.current = 0
    await client.async_execute_cell(cells[0], 0, store_history=False)
    content = client.replies.get(0, {})
    payloads = _payloads(cells[0])
    if content.get("status") != "ok" or len(payloads) != 1:
        execution.setup_error = "grader setup failed in the kernel: " + _reply_error(content)
        return
    execution.baseline = payloads[0].get("fingerprint")
    for position, run in enumerate(execution.cells):
        index = 1 + 2 * position
        client.current = index
        try:
            await client.async_execute_cell(cells[index], index)
        except DeadKernelError:
            run.status = "died"
            _check_limits(run, client, env, memory_limit)
            return
        except _KernelStuck:
            run.status = "stuck"
            _check_limits(run, client, env, memory_limit)
            return
        content = client.replies.get(index, {})
        if index in client.timed_out:
            run.status = "timeout"
        elif content.get("status") == "error":
            run.status, run.error = "error", _reply_error(content)
        else:
            run.status = "ok"
        _check_limits(run, client, env, memory_limit)
        run.forgeries = forged_outputs(cells[index])
        cells[index].outputs = []  # free memory early
        client.current = index + 1
        try:
            await client.async_execute_cell(cells[index + 1], index + 1, store_history=False)
        except (DeadKernelError, _KernelStuck):
            run.collector_problem = "kernel died in the grader's hidden cell"
            return
        _read_collector(run, cells[index + 1], client.replies.get(index + 1, {}), nonce)


def run_submission(
    sources: list[tuple[int, str]],
    *,
    prepared: PreparedKernel,
    timeout: float,
    nonce: str,
    memory_limit: int = limits.MEMORY_LIMIT,
) -> Execution:
    """Execute ``(notebook_index, source)`` code cells in the fresh kernel ``prepared``
    (started by :func:`eoslib.grading.kernels.prepare_kernel`); it is shut down at the end.

    The kernel's address space is limited to ``memory_limit`` bytes; processes a cell leaves
    running are killed and reported on that cell (:mod:`eoslib.grading.limits`).
    """
    return loop().run_until_complete(
        _run(sources, prepared=prepared, timeout=timeout, nonce=nonce, memory_limit=memory_limit)
    )
