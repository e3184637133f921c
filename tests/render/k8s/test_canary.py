"""`crossfade render canary`: Argo Rollouts and Flagger objects from a spec and a canary plan,
valid against the upstream CRDs, with the plan's steps and every expressible gate."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from crossfade.cli import main
from crossfade.errors import UsageError
from crossfade.findings import Finding
from crossfade.lint.k8s import K8sOptions
from crossfade.lint.runner import lint_paths
from crossfade.render.k8s.canary import build_setup
from crossfade.render.k8s.promql import Histogram
from crossfade.render.k8s.triton_metrics import KNOWN
from crossfade.spec.canary_plan import parse_plan
from tests.render.k8s.support import SPEC_8B, SPEC_70B, documents, spec_with

PLAN = """\
version: 1
router: {admin_url: "http://127.0.0.1:18801"}
incumbent: vllm-triton
candidate: trtllm-ensemble
steps: [shadow, 5, 20, 50, 100]
step: {min_duration_s: 90, min_samples: 200, max_duration_s: 300, interval_s: 15}
gates:
  ttft_p95_ratio_max: 1.3
  itl_p95_ratio_max: 1.2
  tpot_p95_ratio_max: 1.2
  error_rate_delta_max: 0.02
  length_mismatch_delta_max: 0.01
  slo: {ttft_p99_ms: 2500, itl_p99_ms: 120}
  min_samples: 30
on_unclear: pause
journal: canary.jsonl
"""
# (spec, router) pairs: the 70B example has a Gateway, the 8B one none.
TARGETS = [(SPEC_8B, "istio"), (SPEC_70B, "gateway"), (SPEC_70B, "istio")]
WORKLOAD = {"argo": "Rollout", "flagger": "Deployment"}


def write_plan(folder: Path, text: str = PLAN, name: str = "plan.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def render(spec: Path, plan: Path, out: Path, driver: str, *more: str) -> int:
    return main(
        ["render", "canary", str(spec), str(plan), "--driver", driver, "-o", str(out), *more]
    )


def loaded(out: Path) -> dict[str, list[dict[str, Any]]]:
    """Relative path -> its documents."""
    return {
        path.relative_to(out).as_posix(): documents(path.read_text(encoding="utf-8"))
        for path in sorted(out.rglob("*.yaml"))
    }


def of_kind(out: Path, kind: str, folder: str = "") -> list[dict[str, Any]]:
    return [
        doc
        for path, docs in loaded(out).items()
        if ("/" in path) == bool(folder)
        for doc in docs
        if doc["kind"] == kind
    ]


def lint(out: Path) -> list[Finding]:
    return lint_paths([out], k8s=K8sOptions())


def plan_of(text: str = PLAN) -> Any:
    return parse_plan(text)


@pytest.mark.parametrize("driver", ["argo", "flagger"])
@pytest.mark.parametrize(("spec", "router"), TARGETS, ids=lambda v: getattr(v, "stem", v))
def test_every_object_validates_against_the_upstream_crds(
    driver: str, spec: Path, router: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert render(spec, write_plan(tmp_path), out, driver, "--router", router) == 0
    kinds = {doc["kind"] for docs in loaded(out).values() for doc in docs}
    expected = {"ConfigMap", "PodMonitor", WORKLOAD[driver]}
    if driver == "argo":
        expected |= {"AnalysisTemplate", "Service"}
        expected |= {"VirtualService"} if router == "istio" else {"HTTPRoute"}
    else:
        expected |= {"Canary", "MetricTemplate"}
    assert kinds == expected
    assert lint(out) == []
    capsys.readouterr()
    # Every kind, the PodMonitor too, is checked against the CRD schemas crossfade ships.
    assert main(["lint", str(out)]) == 0
    assert "0 error(s), 0 warning(s)" in capsys.readouterr().out


def test_the_crds_are_really_applied(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert render(SPEC_8B, write_plan(tmp_path), out, "argo") == 0
    analysis = out / "analysistemplate.yaml"
    analysis.write_text(analysis.read_text().replace("failureLimit:", "failureLimt:", 1))
    canary = tmp_path / "flagger"
    assert render(SPEC_8B, write_plan(tmp_path), canary, "flagger") == 0
    spec = canary / "canary.yaml"
    spec.write_text(spec.read_text().replace("stepWeights:", "stepWeight:", 1))
    codes = {(f.code, Path(f.file).name) for f in lint(out) + lint(canary)}
    assert ("k8s-unknown-field", "analysistemplate.yaml") in codes
    assert ("k8s-schema", "canary.yaml") in codes  # stepWeight must be a number


def test_argo_steps_follow_the_plan(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert render(SPEC_8B, write_plan(tmp_path), out, "argo") == 0
    (rollout,) = of_kind(out, "Rollout")
    strategy = rollout["spec"]["strategy"]["canary"]
    steps = strategy["steps"]
    gates, slo = "llama-3-8b-instruct-canary-gates", "llama-3-8b-instruct-canary-slo"
    assert [s["setWeight"] for s in steps if "setWeight" in s] == [5, 20, 50, 100]
    assert {s["pause"]["duration"] for s in steps if "pause" in s} == {"90s"}
    # Each weight is held min_duration_s, then analysed; the last one on the SLOs alone.
    for weight in (5, 20, 50, 100):
        at = steps.index({"setWeight": weight})
        template = gates if weight < 100 else slo
        assert steps[at + 1 : at + 3] == [
            {"pause": {"duration": "90s"}},
            {"analysis": {"templates": [{"templateName": template}]}},
        ]
    # Shadow: every request mirrored to a full-size canary, analysed, then the copy stops.
    first_weight = steps.index({"setWeight": 5})
    shadow = steps[:first_weight]
    assert shadow[0] == {"setCanaryScale": {"replicas": 2}}
    mirror = shadow[1]["setMirrorRoute"]
    assert (mirror["percentage"], mirror["match"]) == (100, [{"path": {"prefix": "/"}}])
    assert {"analysis": {"templates": [{"templateName": gates}]}} in shadow
    assert shadow[-2:] == [
        {"setMirrorRoute": {"name": mirror["name"]}},
        {"setCanaryScale": {"matchTrafficWeight": True}},
    ]
    assert strategy["trafficRouting"]["managedRoutes"] == [{"name": mirror["name"]}]
    assert strategy["trafficRouting"]["istio"]["virtualService"]["routes"] == ["split"]
    (service,) = of_kind(out, "VirtualService")
    hosts = [d["destination"]["host"] for d in service["spec"]["http"][0]["route"]]
    assert hosts == [strategy["stableService"], strategy["canaryService"]]


def test_argo_measures_every_interval_until_the_unclear_budget(tmp_path: Path) -> None:
    for on_unclear, budget in (("pause", 300), ("extend", 300 * 3)):
        text = PLAN.replace("on_unclear: pause", f"on_unclear: {on_unclear}")
        text = text.replace("interval_s: 15}", "interval_s: 15, max_extensions: 2}")
        out = tmp_path / on_unclear
        assert render(SPEC_8B, write_plan(tmp_path, text), out, "argo") == 0
        count = (budget - 90) // 15 + 1
        for template in of_kind(out, "AnalysisTemplate"):
            for metric in template["spec"]["metrics"]:
                assert metric["interval"] == "15s"
                assert (metric["count"], metric["inconclusiveLimit"]) == (count, count - 1)
                assert (metric["failureLimit"], metric["consecutiveSuccessLimit"]) == (0, 1)


def test_argo_waits_settle_s_before_the_first_measurement(tmp_path: Path) -> None:
    assert render(SPEC_8B, write_plan(tmp_path), tmp_path / "none", "argo") == 0
    for template in of_kind(tmp_path / "none", "AnalysisTemplate"):
        assert all("initialDelay" not in m for m in template["spec"]["metrics"])
    text = PLAN.replace("interval_s: 15}", "interval_s: 15, settle_s: 20}")
    assert render(SPEC_8B, write_plan(tmp_path, text), tmp_path / "settle", "argo") == 0
    templates = of_kind(tmp_path / "settle", "AnalysisTemplate")
    assert templates
    for template in templates:
        assert all(m["initialDelay"] == "20s" for m in template["spec"]["metrics"])


def test_flagger_analysis_follows_the_plan(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert render(SPEC_8B, write_plan(tmp_path), out, "flagger") == 0
    (canary,) = of_kind(out, "Canary")
    analysis = canary["spec"]["analysis"]
    assert analysis["stepWeights"] == [5, 20, 50]  # 100 is the promotion
    assert analysis["interval"] == "90s"
    assert (analysis["mirror"], analysis["mirrorWeight"]) == (True, 100)
    assert analysis["threshold"] == math.ceil(300 / 90)
    assert canary["spec"]["targetRef"]["name"] == of_kind(out, "Deployment")[0]["metadata"]["name"]
    templates = {t["metadata"]["name"] for t in of_kind(out, "MetricTemplate")}
    assert {m["templateRef"]["name"] for m in analysis["metrics"]} == templates
    text = PLAN.replace("steps: [shadow, 5, 20, 50, 100]", "steps: [10, 100]")
    again = tmp_path / "plain"
    assert render(SPEC_8B, write_plan(tmp_path, text), again, "flagger") == 0
    (plain,) = of_kind(again, "Canary")
    assert "mirror" not in plain["spec"]["analysis"]
    assert plain["spec"]["analysis"]["stepWeights"] == [10]


def gate_queries(out: Path, driver: str) -> dict[str, tuple[str, float]]:
    """Gate name -> (query, limit), read the way the controller reads them."""
    found: dict[str, tuple[str, float]] = {}
    if driver == "argo":
        (template,) = [
            t for t in of_kind(out, "AnalysisTemplate") if t["metadata"]["name"].endswith("gates")
        ]
        for metric in template["spec"]["metrics"]:
            limit = float(metric["successCondition"].rsplit("<=", 1)[1])
            assert metric["failureCondition"].endswith(f"result[0] > {limit:g}")
            found[metric["name"]] = (metric["provider"]["prometheus"]["query"], limit)
        return found
    (canary,) = of_kind(out, "Canary")
    queries = {t["metadata"]["name"]: t["spec"]["query"] for t in of_kind(out, "MetricTemplate")}
    for metric in canary["spec"]["analysis"]["metrics"]:
        found[metric["name"]] = (
            queries[metric["templateRef"]["name"]],
            metric["thresholdRange"]["max"],
        )
    return found


@pytest.mark.parametrize("driver", ["argo", "flagger"])
@pytest.mark.parametrize("candidate", ["tensorrtllm", "vllm"])
def test_every_expressible_gate_is_a_query_with_the_plans_limit(
    driver: str, candidate: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    plan = write_plan(tmp_path)
    assert render(SPEC_70B, plan, out, driver, "--candidate", candidate) == 0
    notes = capsys.readouterr().err
    gates = gate_queries(out, driver)
    expected = {"ttft-p95-ratio": 1.3, "error-rate-delta": 0.02, "ttft-p99-slo": 2500}
    if candidate == "vllm":  # only vLLM exports a per-token latency
        expected["itl-p99-slo"] = 120
    assert {name: limit for name, (_, limit) in gates.items()} == expected
    vllm = 'backend="vllm", model="ensemble"'
    trtllm = 'backend="tensorrtllm", model=~"ensemble|tensorrt_llm_bls"'
    mine, theirs = (trtllm, vllm) if candidate == "tensorrtllm" else (vllm, trtllm)
    ratio = gates["ttft-p95-ratio"][0]
    numerator, denominator = ratio.split("\n    /\n", 1)
    assert mine in numerator.split("and on()")[0]
    assert theirs in denominator.split("and on()")[0]
    assert 'vllm:time_to_first_token_seconds_bucket{namespace="llm"' in ratio
    assert "nv_inference_first_response_histogram_ms_bucket" in ratio
    for name, (query, limit) in gates.items():
        # Enough samples on each side to pass; fewer still fail a gate clearly past its limit.
        assert query.count(">= 200)") == query.count(">= 30)") == (2 if "slo" not in name else 1)
        assert f") > {limit:g}\n" in query
        assert "[90s]" in query
        assert 'job="llm/llama-3-70b-canary"' in query
    error = gates["error-rate-delta"][0]
    assert "nv_inference_request_failure{" in error
    assert "nv_inference_request_success{" in error
    # The gates no metric expresses are said in the files and on stderr.
    analysis = "analysistemplate.yaml" if driver == "argo" else "metrictemplate.yaml"
    header = (out / analysis).read_text().split("---", 1)[0]
    for gate in ("itl_p95_ratio_max", "tpot_p95_ratio_max", "length_mismatch_delta_max"):
        assert f"gate {gate} left out" in notes
        assert f"gate {gate} left out" in " ".join(header.replace("#", "").split())
    assert ("gate slo.itl_p99_ms left out" in notes) == (candidate == "tensorrtllm")
    assert "rollback_when_ejected has no counterpart" in notes


def test_every_metric_named_is_one_triton_exports(tmp_path: Path) -> None:
    names: set[str] = set()
    for driver in ("argo", "flagger"):
        for candidate in ("tensorrtllm", "vllm"):
            out = tmp_path / f"{driver}-{candidate}"
            assert (
                render(SPEC_70B, write_plan(tmp_path), out, driver, "--candidate", candidate) == 0
            )
            for query, _ in gate_queries(out, driver).values():
                names |= set(re.findall(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{", query))
    series = {n for n in names if n.endswith(("_bucket", "_count"))}
    histograms = {re.sub(r"_(bucket|count)$", "", n) for n in series}
    families = histograms | (names - series)
    assert families == {
        "vllm:time_to_first_token_seconds",
        "vllm:time_per_output_token_seconds",
        "nv_inference_first_response_histogram_ms",
        "nv_inference_request_success",
        "nv_inference_request_failure",
    }
    assert families <= set(KNOWN)
    assert {KNOWN[name].kind for name in histograms} == {"histogram"}
    assert {KNOWN[name].kind for name in families - histograms} == {"counter"}
    assert all(KNOWN[name].source.startswith("https://github.com/") for name in families)


def test_a_histogram_must_be_one_triton_exports() -> None:
    with pytest.raises(KeyError):
        Histogram("vllm:time_to_first_token_ms", 1.0)
    with pytest.raises(ValueError, match="not a histogram"):
        Histogram("nv_inference_request_success", 1.0)


@pytest.mark.parametrize("driver", ["argo", "flagger"])
def test_incumbent_first_then_the_candidate(driver: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert render(SPEC_8B, write_plan(tmp_path), out, driver) == 0
    kind = WORKLOAD[driver]
    (candidate,) = of_kind(out, kind)
    (incumbent,) = of_kind(out, kind, folder="incumbent")
    assert candidate["metadata"]["name"] == incumbent["metadata"]["name"]
    labels = [w["spec"]["template"]["metadata"]["labels"] for w in (incumbent, candidate)]
    assert [label["backend"] for label in labels] == ["vllm", "tensorrtllm"]
    # One selector for both revisions, which a workload cannot change.
    assert candidate["spec"]["selector"] == incumbent["spec"]["selector"]
    trtllm_args = candidate["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--metrics-config=histogram_latencies=true" in trtllm_args
    (monitor,) = of_kind(out, "PodMonitor")
    selected = monitor["spec"]["selector"]["matchLabels"].items()
    assert all(selected <= label.items() for label in labels)
    configs = {c["metadata"]["name"] for c in of_kind(out, "ConfigMap")}
    assert configs == {"llama-3-8b-instruct-vllm-models", "llama-3-8b-instruct-tensorrtllm-models"}
    header = (out / f"{kind.lower()}.yaml").read_text().split("---", 1)[0]
    assert f"-f incumbent/{kind.lower()}.yaml" in header
    assert "from llama-3-8b.yaml and plan.yaml" in header


@pytest.mark.parametrize("driver", ["argo", "flagger"])
def test_rerender_is_byte_identical(driver: str, tmp_path: Path) -> None:
    plan = write_plan(tmp_path)
    first, second = tmp_path / "a", tmp_path / "b"
    for out in (first, second):
        assert render(SPEC_70B, plan, out, driver) == 0
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    assert all((first / f).read_bytes() == (second / f).read_bytes() for f in files)
    assert render(SPEC_70B, plan, first, driver, "--check") == 0
    edited = first / "podmonitor.yaml"
    edited.write_text(edited.read_text().replace("interval: 15s", "interval: 30s"))
    assert render(SPEC_70B, plan, first, driver, "--check") == 1


def test_dash_streams_every_document(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = write_plan(tmp_path)
    assert render(SPEC_8B, plan, tmp_path / "out", "argo") == 0
    capsys.readouterr()
    assert main(["render", "canary", str(SPEC_8B), str(plan), "--driver", "argo", "-o", "-"]) == 0
    streamed = [doc["kind"] for doc in yaml.safe_load_all(capsys.readouterr().out) if doc]
    written = [doc["kind"] for docs in loaded(tmp_path / "out").values() for doc in docs]
    assert sorted(streamed) == sorted(written)
    assert streamed[-1] == "Rollout"  # incumbent/ comes last


def test_backends_come_from_the_plan_names_or_the_flag() -> None:
    spec = spec_with(lambda data: None)
    setup = build_setup(spec, plan_of())
    assert (setup.incumbent, setup.candidate, setup.router) == ("vllm", "tensorrtllm", "istio")
    vague = plan_of(PLAN.replace("vllm-triton", "blue").replace("trtllm-ensemble", "green"))
    with pytest.raises(UsageError, match=r"incumbent 'blue'|candidate 'green'"):
        build_setup(spec, vague)
    assert build_setup(spec, vague, candidate="vllm").incumbent == "tensorrtllm"
    gateway = build_setup(spec_with(lambda data: None, SPEC_70B), plan_of())
    assert gateway.router == "gateway"  # the spec's own router


def test_what_cannot_be_rendered_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = write_plan(tmp_path)
    assert render(SPEC_8B, plan, tmp_path / "gw", "argo", "--router", "gateway") == 2
    assert "kubernetes.traffic.gateway" in capsys.readouterr().err

    def one_backend(data: dict[str, Any]) -> None:
        kubernetes = data["kubernetes"]
        del data["tensorrtllm"], kubernetes["tensorrtllm"], kubernetes["engine_build"]
        del kubernetes["traffic"]

    with pytest.raises(UsageError, match="only vllm"):
        build_setup(spec_with(one_backend), plan_of())
    only_full = write_plan(tmp_path, PLAN.replace("[shadow, 5, 20, 50, 100]", "[shadow, 100]"))
    assert render(SPEC_8B, only_full, tmp_path / "f", "flagger") == 2
    assert "no percentage below 100" in capsys.readouterr().err
    assert render(SPEC_8B, only_full, tmp_path / "a", "argo") == 0  # Argo mirrors, then promotes


def test_without_a_monitor_the_queries_read_the_pods_own_labels() -> None:
    spec = spec_with(lambda data: data["kubernetes"].update(monitoring=None))
    setup = build_setup(spec, plan_of())
    assert all("job=" not in gate.query for gate in setup.gates)
    assert all('namespace="llm", backend=' in gate.query for gate in setup.gates)
    assert any("no PodMonitor" in note for note in setup.notes)


def test_one_sample_floor_needs_no_second_branch() -> None:
    text = PLAN.replace("min_samples: 200", "min_samples: 30")  # gates.min_samples too
    for gate in build_setup(spec_with(lambda data: None), plan_of(text)).gates:
        assert ">= 30)" in gate.query
        assert "\nor\n" not in gate.query


def write_spec(folder: Path, change: Any, path: Path = SPEC_70B) -> Path:
    """The example at `path`, edited by `change`, as a file the CLI reads."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    written = folder / path.name
    written.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return written


@pytest.mark.parametrize("driver", ["argo", "flagger"])
def test_the_output_says_which_layouts_and_which_gates_rendered_or_left_out(
    driver: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert render(SPEC_70B, write_plan(tmp_path), out, driver, "--candidate", "tensorrtllm") == 0
    summary = (
        "vLLM on Triton (vllm backend, vllm:* metrics) (incumbent) -> the legacy TensorRT-LLM "
        "engine ensemble (candidate); rendered: ttft-p95-ratio, error-rate-delta, ttft-p99-slo; "
        "left out: itl_p95_ratio_max, tpot_p95_ratio_max, length_mismatch_delta_max, "
        "slo.itl_p99_ms (the notes say why)"
    )
    err = capsys.readouterr().err
    assert f"crossfade render canary: gates: {summary}\n" in err
    analysis = "analysistemplate.yaml" if driver == "argo" else "metrictemplate.yaml"
    header = " ".join((out / analysis).read_text().split("---", 1)[0].replace("#", "").split())
    assert f"Gates: {summary}" in header
    assert "the ensemble's nv_trt_llm_* metrics are gauges of state" in header
    # Errors on vLLM's side are counted only when a request fails to start: said, not hidden.
    assert "error-rate-delta on vLLM on Triton (vllm backend): Triton's python backend" in err
    assert lint(out) == []


@pytest.mark.parametrize("driver", ["argo", "flagger"])
def test_a_model_that_does_not_stream_has_no_ttft_gate(
    driver: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Not decoupled, the model answers once: Triton's first-response histogram is then the
    whole answer's time, and a TTFT gate on it would compare that with vLLM's real TTFT."""
    spec = write_spec(tmp_path, lambda data: data["tensorrtllm"].update(decoupled=False))
    out = tmp_path / "out"
    assert render(spec, write_plan(tmp_path), out, driver, "--candidate", "tensorrtllm") == 0
    err = capsys.readouterr().err
    assert set(gate_queries(out, driver)) == {"error-rate-delta"}
    assert "left out: ttft_p95_ratio_max, itl_p95_ratio_max, " in err
    assert "gate ttft_p95_ratio_max left out: tensorrtllm: tensorrtllm.decoupled is false" in err
    assert "gate slo.ttft_p99_ms left out: tensorrtllm: tensorrtllm.decoupled is false" in err
    assert lint(out) == []
    # On vLLM's side as the candidate, only vLLM's own histogram backs the absolute SLO.
    assert render(spec, write_plan(tmp_path), tmp_path / "v", driver, "--candidate", "vllm") == 0
    assert set(gate_queries(tmp_path / "v", driver)) == {
        "error-rate-delta",
        "ttft-p99-slo",
        "itl-p99-slo",
    }


def test_without_vllms_own_metrics_only_tritons_back_the_gates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write_spec(tmp_path, lambda data: data["vllm"].update(report_custom_metrics=False))
    out = tmp_path / "out"
    assert render(spec, write_plan(tmp_path), out, "argo", "--candidate", "vllm") == 0
    err = capsys.readouterr().err
    assert set(gate_queries(out, "argo")) == {"error-rate-delta"}
    assert "vLLM on Triton (vllm backend, nv_inference_* only) (candidate)" in err
    assert "gate ttft_p95_ratio_max left out: vllm: vllm:* metrics need REPORT_CUSTOM" in err
    assert lint(out) == []
