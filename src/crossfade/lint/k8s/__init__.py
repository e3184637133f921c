"""`crossfade lint` for Kubernetes manifests: strict schemas, CRDs, and cross-references."""

from crossfade.lint.k8s.linter import K8sOptions, lint_manifest_files
from crossfade.lint.k8s.load import Manifest, ManifestFile, read_manifest_file

__all__ = ["K8sOptions", "Manifest", "ManifestFile", "lint_manifest_files", "read_manifest_file"]
