"""Which tests share one pytest-xdist worker, and a scheduler that honours it.

pytest-xdist 3.8 tells its ``loadgroup`` scheduler a test's ``xdist_group`` by appending
``@group`` to the nodeid on the worker; on pytest 9.2 the nodeid is derived from a
structured id, the suffix is lost, and every test is scheduled alone, silently
(pytest-dev/pytest-xdist#1386). The scheduler runs in the controller, which collects
nothing, so the group is read from what every nodeid carries: its module.
"""

from __future__ import annotations

from xdist.scheduler import LoadGroupScheduling

#: modules whose tests run whole ``warmline`` processes or servers of their own (the
#: slow ones among them), or time themselves: they take turns on one worker, so a
#: timing is never taken while another such test loads the machine
PROCESSES = "processes"
GROUPS = {
    module: PROCESSES
    for module in (
        "test_cli.py",
        "test_dashboard_login_limit.py",
        "test_downtime_telegram.py",
        "test_fault_burst.py",
        "test_fault_kill.py",
        "test_fault_outages.py",
        "test_fault_redis_loss.py",
        "test_fresh_clone.py",
        "test_knowledge_remote_embeddings.py",
        "test_push_concurrency.py",
        "test_wecom_batch_process.py",
        "test_wecom_process.py",
        "test_workers_broadcast.py",
    )
}


def group_of(nodeid: str) -> str | None:
    """The group of the test ``nodeid`` names (``tests/test_cli.py::test_x[a]`` …)."""
    return GROUPS.get(nodeid.partition("::")[0].rpartition("/")[2])


class ModuleGroupScheduling(LoadGroupScheduling):
    """``--dist loadgroup`` with each test's group from :func:`group_of` (a nodeid's
    ``@group`` suffix, where pytest keeps one, still counts)."""

    def _split_scope(self, nodeid: str) -> str:
        return group_of(nodeid) or super()._split_scope(nodeid)
