"""What each pod of the benchmark Job runs (one shell script for all), and how long it may take.

Every pod runs its shard of `crossfade bench` and then writes a done marker holding its exit
status, also when it is stopped (a TERM from an eviction or the Job's deadline is passed on to
crossfade bench, which saves what it measured). Pod 0 then waits for the other markers, at most
`shard_wait_s`: a pod that was OOM-killed or never scheduled writes none. It merges the shards
that saved a result (`crossfade merge --allow-missing`), says which are missing and fails, so
the Job shows a partial run. The Job's own deadline covers everything else.
"""

from __future__ import annotations

import math
import shlex

from crossfade.render.k8s.common import shell_command
from crossfade.spec.kubernetes import BenchJob

INDEX = "$JOB_COMPLETION_INDEX"
RUN_ID_ENV = "RUN_ID"
STARTUP_S = 600  # scheduling, image pull, tokenizer and workload before the common start
MERGE_S = 300  # pod 0 reading every shard's records and writing the merged result
RUN_SLACK_S = 60  # the shard's own start and save; small open-loop runs' arrival spread
WAIT_SLACK_S = 60  # beyond one request deadline, for another shard to save its result
POLL_S = 2


def shard_wait_s(settings: BenchJob) -> int:
    """How long pod 0 waits for the others once its shard is done. Shards start together and
    run equal shares, so one that is still healthy ends within about one request deadline."""
    if settings.shard_wait_s is not None:
        return settings.shard_wait_s
    return math.ceil(settings.request_timeout_s) + WAIT_SLACK_S


def longest_shard_s(settings: BenchJob) -> float:
    """The longest one shard can take from the common start, by the load settings: a duration
    stops sending (answers still in flight take up to one request deadline); a closed loop's
    requests run in rounds of one request deadline at most; an open loop's schedule of N
    arrivals at rate R lasts N/R on average (twice that is allowed), then one deadline."""
    timeout = settings.request_timeout_s
    bounds = []
    if settings.duration_s is not None:
        bounds.append(settings.duration_s + timeout)
    if settings.requests is not None:
        if settings.concurrency is not None:
            share = math.ceil(settings.requests / settings.pods)
            slots = max(1, settings.concurrency // settings.pods)
            bounds.append(math.ceil(share / slots) * timeout)
        else:
            assert settings.rate is not None  # the spec has one of concurrency or rate
            bounds.append(2 * settings.requests / settings.rate + timeout)
    return min(bounds) + RUN_SLACK_S


def active_deadline_s(settings: BenchJob) -> int:
    """The Job's deadline: the spec's, or start-up, start delay, the longest shard, pod 0's wait
    and the merge, one after the other."""
    if settings.active_deadline_s is not None:
        return settings.active_deadline_s
    total = STARTUP_S + settings.start_delay_s + longest_shard_s(settings)
    return math.ceil(total + shard_wait_s(settings) + MERGE_S)


def pod_script(arguments: list[str], settings: BenchJob, job_dir: str, start_at: int | None) -> str:
    """The `sh -c` script of every pod; `arguments` is `crossfade bench` with the run's totals."""
    pods = settings.pods
    lines = ["set -u", f'run={shlex.quote(job_dir)}/"${RUN_ID_ENV}"', 'mkdir -p "$run/done"']
    if start_at is not None:
        lines.append(f"start_at={start_at}")
    else:
        lines += [
            "# The first pod up fixes the common start; mkdir is atomic, even on NFS.",
            'if mkdir "$run/start-lock" 2>/dev/null; then',
            f'  echo $(( $(date +%s) + {settings.start_delay_s} )) > "$run/start-at.tmp"',
            '  mv "$run/start-at.tmp" "$run/start-at"',
            "fi",
            'until [ -s "$run/start-at" ]; do sleep 1; done',
            'start_at=$(cat "$run/start-at")',
        ]
    raw = ['--start-at="$start_at"', f'--output="$run/shard-{INDEX}" &']
    lines += [
        "# In the background, so a TERM reaches the trap at once; bench gets it and saves.",
        shell_command(arguments[:3], arguments[3:], raw),
        "bench=$!",
        "stopping=",
        """trap 'stopping=1; kill -TERM "$bench" 2>/dev/null' TERM INT""",
        "status=0",
        'wait "$bench" || status=$?',
        'while kill -0 "$bench" 2>/dev/null; do status=0; wait "$bench" || status=$?; done',
        f'echo "$status" > "$run/done/{INDEX}"',
        f'if [ "{INDEX}" -eq 0 ]; then',
        f"  give_up=$(( $(date +%s) + {shard_wait_s(settings)} ))",
        f'  until [ "$(ls "$run/done" | wc -l)" -ge {pods} ] || [ -n "$stopping" ] \\',
        f'    || [ "$(date +%s)" -ge "$give_up" ]; do sleep {POLL_S}; done',
        "  set --",
        "  missing=",
        "  i=0",
        f'  while [ "$i" -lt {pods} ]; do',
        '    if [ -s "$run/shard-$i/result.json" ]; then set -- "$@" "$run/shard-$i"',
        '    else missing="$missing $i"; fi',
        "    i=$((i + 1))",
        "  done",
        '  if [ -n "$missing" ]; then',
        "    status=1",
        f'    echo "crossfade bench Job: no result from shard(s)$missing of {pods}" \\',
        f'      "(failed, killed, or not done {shard_wait_s(settings)} s after shard 0):" \\',
        '      "merging without them" >&2',
        "  fi",
        '  if [ "$#" -eq 0 ]; then',
        '    echo "crossfade bench Job: no shard saved a result: nothing to merge" >&2',
        "  else",
        '    crossfade merge --allow-missing "$@" -o "$run/merged" || status=1',
        "  fi",
        "fi",
        'exit "$status"',
    ]
    return "\n".join(lines) + "\n"
