"""The load plan checks its input up front, so nothing fails mid-run."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from crossfade.bench.plan import LoadPlan


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"rate": float("inf")}, "rate"),
        ({"rate": float("nan")}, "rate"),
        ({"rate": 5.0, "duration_s": float("inf")}, "duration_s"),
        ({"rate": 5.0, "request_timeout_s": float("inf")}, "request_timeout_s"),
        ({"rate": 5.0, "arrivals": "weird"}, "arrivals"),
        ({"rate": 5.0, "arrivals": "gamma:0"}, "arrivals"),
    ],
)
def test_an_open_loop_plan_refuses_what_would_fail_mid_run(
    fields: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        LoadPlan.model_validate({"requests": 10, **fields})
    assert caught.value.errors()[0]["loc"] == (field,)


def test_arrivals_are_kept_in_their_canonical_form() -> None:
    assert LoadPlan(rate=5, requests=1, arrivals=" Gamma:.5").arrivals == "gamma:0.5"
    assert LoadPlan(rate=5, requests=1, arrivals="CONSTANT").arrivals == "constant"
    precise = LoadPlan(rate=5, requests=1, arrivals="gamma:0.123456789")
    assert precise.arrivals == "gamma:0.123456789"  # not rounded to 6 digits
    # A closed loop never reads them: results saved with anything there still load.
    assert LoadPlan(concurrency=2, requests=1, arrivals="weird").arrivals == "weird"
