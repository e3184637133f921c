"""Checks that an ensemble's steps wire tensors that really exist in the repository."""

from __future__ import annotations

from collections.abc import Set

from crossfade.findings import Finding, Severity
from crossfade.lint.model import LintedModel
from crossfade.lint.textproto import Field, unquote
from crossfade.spec.suggest import did_you_mean


def check_ensemble(
    ensemble: LintedModel, models: dict[str, LintedModel], unreadable: Set[str] = frozenset()
) -> list[Finding]:
    """Steps against the repository's `models`; steps into `unreadable` ones are not judged."""
    findings: list[Finding] = []
    scheduling = ensemble.root.first("ensemble_scheduling")
    if scheduling is None:
        return [
            Finding(
                Severity.ERROR,
                "ensemble-no-steps",
                ensemble.file,
                None,
                "platform is 'ensemble' but there is no ensemble_scheduling",
                "add ensemble_scheduling { step [...] }",
            )
        ]
    available = set(ensemble.tensor_names("input"))
    produced: set[str] = set()
    for step in scheduling.all("step"):
        name = unquote(step.scalar("model_name") or "")
        target = models.get(name)
        if target is None and name not in unreadable:
            findings.append(
                Finding(
                    Severity.ERROR,
                    "ensemble-unknown-model",
                    ensemble.file,
                    step.line,
                    f"step runs model '{name}', which is not in this repository",
                    did_you_mean(name, models) or "add the model or fix model_name",
                )
            )
            continue
        if target is not None:  # else its config is reported unreadable: tensors unknown
            findings += _check_map(ensemble, step, "input_map", target, "input")
            findings += _check_map(ensemble, step, "output_map", target, "output")
        for key, value, line in _entries(step, "input_map"):
            del key
            if value not in available:
                findings.append(
                    Finding(
                        Severity.ERROR,
                        "ensemble-unbound-tensor",
                        ensemble.file,
                        line,
                        f"'{value}' feeds '{name}' but is neither an ensemble input nor the "
                        "output of an earlier step",
                        did_you_mean(value, available),
                    )
                )
        for _, value, _ in _entries(step, "output_map"):
            available.add(value)
            produced.add(value)
    for output in ensemble.root.all("output"):
        out_name = unquote(output.scalar("name") or "")
        if out_name not in produced:
            findings.append(
                Finding(
                    Severity.ERROR,
                    "ensemble-output-unproduced",
                    ensemble.file,
                    output.line,
                    f"ensemble output '{out_name}' is produced by no step",
                    "map it in some step's output_map or remove it",
                )
            )
    return findings


def _entries(step: Field, kind: str) -> list[tuple[str, str, int]]:
    entries = []
    for node in step.all(kind):
        key = node.first("key")
        value = node.first("value")
        if key is not None and value is not None:
            entries.append((unquote(key.value or ""), unquote(value.value or ""), key.line))
    return entries


def _check_map(
    ensemble: LintedModel, step: Field, kind: str, target: LintedModel, tensor_kind: str
) -> list[Finding]:
    names = target.tensor_names(tensor_kind)
    findings = []
    for key, _, line in _entries(step, kind):
        if key not in names:
            findings.append(
                Finding(
                    Severity.ERROR,
                    f"ensemble-{kind.replace('_', '-')}",
                    ensemble.file,
                    line,
                    f"{kind} names '{key}', but model '{target.name}' has no {tensor_kind} "
                    f"of that name",
                    did_you_mean(key, names) or f"see {target.file}",
                )
            )
    return findings
