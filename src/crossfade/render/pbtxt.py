"""config.pbtxt through Triton's own schema (the ModelConfig protobuf shipped with tritonclient).

Building the message and printing it with protobuf's text_format means every rendered file
parses by construction, and field names can never drift from what Triton accepts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from google.protobuf import text_format

from crossfade.render.tensors import Tensor

HEADER = "# Rendered by crossfade from a spec; edit the spec and render again.\n"


def model_config_module() -> Any:
    """Triton's model_config_pb2 (imported lazily: it pulls in grpc)."""
    from tritonclient.grpc import model_config_pb2

    return model_config_pb2


def new_config(**fields: Any) -> Any:
    config = model_config_module().ModelConfig()
    for name, value in fields.items():
        setattr(config, name, value)
    return config


def add_tensors(
    container: Any, tensors: Iterable[Tensor], datatypes: Mapping[str, str], *, is_input: bool
) -> None:
    """Append `tensors` to a repeated input/output field, resolving data-type markers."""
    pb = model_config_module()
    for tensor in tensors:
        item = container.add()
        item.name = tensor.name
        item.data_type = pb.DataType.Value(datatypes.get(tensor.data_type, tensor.data_type))
        item.dims.extend(tensor.dims)
        if tensor.reshape is not None:
            item.reshape.SetInParent()
            item.reshape.shape.extend(tensor.reshape)
        if is_input:
            if tensor.optional:
                item.optional = True
            if tensor.allow_ragged_batch:
                item.allow_ragged_batch = True


def set_parameters(config: Any, parameters: Mapping[str, str]) -> None:
    for key, value in parameters.items():
        config.parameters[key].string_value = value


def add_instance_group(config: Any, count: int, kind: str) -> None:
    pb = model_config_module()
    group = config.instance_group.add()
    group.count = count
    group.kind = pb.ModelInstanceGroup.Kind.Value(kind)


def to_text(config: Any) -> str:
    return HEADER + text_format.MessageToString(config)


def parse(text: str) -> Any:
    """Parse config.pbtxt text into a ModelConfig; raises text_format.ParseError."""
    config = model_config_module().ModelConfig()
    text_format.Parse(text, config)
    return config


def param_string(value: str | bool | int | float) -> str:
    """Parameter values as the backends parse them ("true"/"false" for booleans)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
