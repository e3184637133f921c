from __future__ import annotations

import crossfade.engine


def test_all_is_sorted_and_complete() -> None:
    names = crossfade.engine.__all__
    assert names == sorted(names)
    assert len(set(names)) == len(names)
    missing = [name for name in names if not hasattr(crossfade.engine, name)]
    assert missing == []
    assert {"check_engine", "read_engine_config", "stamp_engine", "parse_image_tag"} <= set(names)
