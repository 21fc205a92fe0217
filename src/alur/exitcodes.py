"""The exit codes of every `alur` command, in one place: the help texts and the README quote them."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    # ansible-playbook (or alur) stopped for a reason that is neither bad input nor a host's fault.
    ERROR = 1
    # Bad options, an inventory or playbook Ansible cannot parse, or `alur check` found a problem.
    INVALID_INPUT = 2
    # The lab's containers (podman) failed; see `alur lab`.
    CONTAINER = 3
    # At least one host failed a task (other hosts may also have been unreachable).
    HOSTS_FAILED = 4
    # At least one host was unreachable, and none failed.
    HOSTS_UNREACHABLE = 5
    # Interrupted (Ctrl-C); the run is recorded as canceled.
    INTERRUPTED = 130


EXIT_CODES_HELP = (
    "Exit codes: 0 ok; 1 ansible-playbook or alur failed (see the run's log); "
    "2 invalid input (options, inventory, playbook, or `alur check` errors); "
    "3 lab container error; 4 a host failed; 5 a host was unreachable (none failed); 130 interrupted."
)


def from_host_counts(failed: int, unreachable: int, rc: int) -> ExitCode:
    """The exit code of a playbook run: hosts' outcomes first, then ansible-playbook's own return code."""
    if failed:
        return ExitCode.HOSTS_FAILED
    if unreachable:
        return ExitCode.HOSTS_UNREACHABLE
    if rc == 0:
        return ExitCode.OK
    # ansible-playbook: 4 parser error (when no host ran), 5 bad options; anything else is an error.
    if rc in (4, 5):
        return ExitCode.INVALID_INPUT
    return ExitCode.ERROR
