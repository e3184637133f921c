"""Projections without a GPU: what TensorRT-LLM and vLLM would do on the spec's GPUs, from
AIConfigurator's measured kernel databases, run in the projection environment (see
docs/projection.md). Every figure here is a projection, never a measurement."""
