"""What an execution environment answers alur.ee.inspect, fixed for the unit tests (no podman, no image)."""

from __future__ import annotations

from alur.ee import ImageInfo

STRATEGIES = "/opt/alur-ee/lib/python3.13/site-packages/ansible_mitogen/plugins/strategy"


def image_info(core: str = "2.21.5", mitogen: str | None = "0.3.50") -> ImageInfo:
    """alur's image as `some/image`, with this ansible-core, and Mitogen (with its strategy folder) unless None."""
    return ImageInfo(
        image="some/image",
        image_id="0123456789abcdef0123456789abcdef",
        ansible_core=core,
        python="3.13.5",
        mitogen=mitogen,
        mitogen_strategies=STRATEGIES if mitogen else None,
        ansible_runner="2.4.2",
    )
