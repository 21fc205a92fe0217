"""The one base exception: everything the CLI reports to a user derives from it."""


class AlurError(Exception):
    """An error the user can act on; the CLI prints it as one line and exits non-zero."""

    exit_code = 2


class ContainerError(AlurError):
    """podman, an image build or a lab container failed."""

    exit_code = 3
