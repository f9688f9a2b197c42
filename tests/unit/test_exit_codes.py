"""The exit code of ``flashpoint run`` follows from the run's counters, and says which went
wrong: 3 input lost, 4 an alert not delivered."""

from __future__ import annotations

import pytest

from streams.pipeline import RunStats
from streams.runner import ExitCode, exit_code


@pytest.mark.parametrize(
    ("counters", "unprocessed", "code"),
    [
        ({"read": 5, "published": 5, "delivered": 3}, False, ExitCode.OK),
        ({"read": 5, "published": 5, "deadlettered": 2}, False, ExitCode.OK),
        ({"read": 5, "published": 4, "publish_failed": 1}, False, ExitCode.INPUT_LOST),
        ({"read_errors": 1}, False, ExitCode.INPUT_LOST),
        ({"send_failed": 1}, False, ExitCode.INPUT_LOST),
        ({"read": 5, "published": 5}, True, ExitCode.INPUT_LOST),
        ({"read": 5, "published": 5, "failed": 1}, False, ExitCode.DELIVERY_FAILED),
        ({"publish_failed": 1, "failed": 1}, False, ExitCode.INPUT_LOST),
    ],
)
def test_the_exit_code_names_what_was_lost(
    counters: dict[str, int], unprocessed: bool, code: ExitCode
) -> None:
    assert exit_code(RunStats(**counters), unprocessed=unprocessed) is code


def test_the_codes_are_the_documented_numbers() -> None:
    assert [int(c) for c in ExitCode] == [0, 1, 2, 3, 4, 5]
