"""Kubernetes manifests from a spec: pure functions from `Spec` to a `RenderedTree` of YAML.

`manifests.render_k8s` is the entry point; each other module builds one family of objects as
plain dicts in a fixed key order, and `yamlout` turns them into stable YAML text.
"""
