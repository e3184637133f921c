"""`crossfade advise`: vLLM or TensorRT-LLM, decided by explicit rules over the facts a spec
states (`rules.py`, the flowchart as data) and by measured comparisons when there are some
(`evidence.py`); `advice.py` combines the two, `mermaid.py` and `render.py` present them.
Everything here is pure except loading comparison files."""
