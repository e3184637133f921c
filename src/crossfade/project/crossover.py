"""Where along the concurrency axis the projected lead changes hands (pure). A projection has no
sampling noise, so a level's leader is simply the better figure, unless the two are within
EVEN_WITHIN of each other: a lead that small decides nothing, and a projection is no
measurement."""

from __future__ import annotations

from dataclasses import dataclass

from crossfade.project.model import (
    BACKEND_LABELS,
    BETTER,
    Backend,
    BackendProjection,
    ProjectedCrossover,
    ProjectedMetric,
)

EVEN_WITHIN = 0.02  # a relative lead below this is "even"
CROSSOVER_METRICS: tuple[ProjectedMetric, ...] = (
    "output_token_throughput_per_gpu",
    "ttft_ms",
    "tpot_ms",
)


@dataclass(frozen=True)
class LevelLead:
    concurrency: int
    leader: Backend | None  # None: even, or a backend has no figure here
    lead: float  # the leader's relative advantage (0 when even)
    failed: tuple[Backend, ...]  # the backends without a figure here


def level_leads(
    metric: ProjectedMetric, first: BackendProjection, second: BackendProjection
) -> list[LevelLead]:
    """Who is ahead on `metric` at each concurrency either backend was projected at."""
    levels = sorted({p.concurrency for p in first.points} | {p.concurrency for p in second.points})
    leads = []
    for level in levels:
        values = {b.backend: _value(b, metric, level) for b in (first, second)}
        failed = tuple(backend for backend, value in values.items() if value is None)
        leader, lead = None, 0.0
        if not failed:
            one, other = values[first.backend], values[second.backend]
            assert one is not None
            assert other is not None
            leader, lead = _leader(metric, (first.backend, one), (second.backend, other))
        leads.append(LevelLead(level, leader, lead, failed))
    return leads


def crossover(
    metric: ProjectedMetric, first: BackendProjection, second: BackendProjection
) -> ProjectedCrossover:
    """The lowest concurrency from which the backend ahead at the highest one stays ahead;
    `overtakes` when the other backend was ahead somewhere below it. No leader when the two are
    even at the highest concurrency or one has no figure there."""
    leads = level_leads(metric, first, second)
    if not leads:
        return _no_leader(metric, "nothing projected")
    top = leads[-1]
    if top.leader is None:
        return _no_leader(
            metric,
            f"{_names(top.failed)} not projected at the highest concurrency ({top.concurrency})"
            if top.failed
            else f"even at the highest concurrency ({top.concurrency})",
        )
    start = len(leads) - 1
    while start > 0 and leads[start - 1].leader == top.leader:
        start -= 1
    ahead = leads[start:]
    size = _range(min(level.lead for level in ahead), max(level.lead for level in ahead))
    name = BACKEND_LABELS[top.leader]
    if start == 0:
        span = f"{ahead[0].concurrency} to {top.concurrency}"
        note = f"{name} ahead at every concurrency projected ({span}), by {size}"
    else:
        below = "; ".join(f"{level.concurrency}: {_state(level)}" for level in leads[:start])
        note = (
            f"{name} ahead from concurrency {ahead[0].concurrency} on, by {size} (below: {below})"
        )
    overtakes = any(level.leader not in (None, top.leader) for level in leads[:start])
    return ProjectedCrossover(
        metric=metric,
        better=BETTER[metric],
        leader=top.leader,
        from_concurrency=ahead[0].concurrency,
        overtakes=overtakes,
        note=note,
    )


def crossovers(first: BackendProjection, second: BackendProjection) -> list[ProjectedCrossover]:
    return [crossover(metric, first, second) for metric in CROSSOVER_METRICS]


def _no_leader(metric: ProjectedMetric, note: str) -> ProjectedCrossover:
    return ProjectedCrossover(
        metric=metric,
        better=BETTER[metric],
        leader=None,
        from_concurrency=None,
        overtakes=False,
        note=note,
    )


def _value(backend: BackendProjection, metric: ProjectedMetric, level: int) -> float | None:
    point = backend.point(level)
    return None if point is None else point.value(metric)


def _leader(
    metric: ProjectedMetric, one: tuple[Backend, float], other: tuple[Backend, float]
) -> tuple[Backend | None, float]:
    higher = BETTER[metric] == "higher"
    best, worst = sorted((one, other), key=lambda pair: pair[1], reverse=higher)
    if best[1] == worst[1]:
        return None, 0.0
    if worst[1] <= 0 or best[1] <= 0:  # no ratio to speak of: the better figure leads
        return best[0], float("inf")
    lead = best[1] / worst[1] - 1 if higher else worst[1] / best[1] - 1
    return (best[0], lead) if lead >= EVEN_WITHIN else (None, 0.0)


def _state(level: LevelLead) -> str:
    if level.failed:
        return f"{_names(level.failed)} not projected"
    if level.leader is None:
        return "even"
    return f"{BACKEND_LABELS[level.leader]} ahead by {_percent(level.lead)}"


def _names(backends: tuple[Backend, ...]) -> str:
    return " and ".join(BACKEND_LABELS[b] for b in backends)


def _range(low: float, high: float) -> str:
    return (
        _percent(low) if _percent(low) == _percent(high) else f"{_percent(low)} to {_percent(high)}"
    )


def _percent(share: float) -> str:
    return "more than 1000%" if share > 10 else f"{share:.0%}"
