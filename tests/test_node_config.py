"""A node's config.json (node/config.py): the round timeouts are no longer in it.

They became chain parameters (docs/consensus.md, "Timeouts"): every config.json written before holds them,
since `write_config` writes every field. At the old defaults they are dropped; any other value is refused in
one line that says where the timeouts went, so that no node silently waits other than its file says.
"""

from __future__ import annotations

import json

import pytest

from node.config import ConfigError, NodeConfig, load_config, write_config

FORMER = {"timeout_propose_ms": 1000, "timeout_prevote_ms": 500, "timeout_precommit_ms": 500,
          "timeout_delta_ms": 500, "timeout_max_ms": 10_000, "max_clock_drift_ms": 10_000,
          "status_interval_ms": 1000, "sync_batch_blocks": 64}


def test_a_config_written_before_the_move_loads_with_the_timeouts_at_their_old_defaults(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"role": "validator", "consensus": FORMER}))
    config = load_config(tmp_path)
    assert config.consensus.model_dump() == {"max_clock_drift_ms": 10_000, "status_interval_ms": 1000,
                                             "sync_batch_blocks": 64}
    write_config(tmp_path, config)
    assert json.loads((tmp_path / "config.json").read_text())["consensus"] == config.consensus.model_dump()
    assert load_config(tmp_path) == config


@pytest.mark.parametrize("name", ["timeout_propose_ms", "timeout_max_ms", "timeout_delta_ms"])
def test_a_former_timeout_set_to_another_value_is_refused_in_one_line_naming_the_move(tmp_path, name):
    (tmp_path / "config.json").write_text(json.dumps({"consensus": {**FORMER, name: 600}}))
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    message = str(caught.value)
    assert len(message.splitlines()) == 1
    assert f"{name} is no longer a node setting" in message and "propose-param" in message


def test_no_timeout_field_is_left_in_the_node_config():
    assert not [name for name in NodeConfig().consensus.model_dump() if "timeout" in name]
    with pytest.raises(ValueError, match="no longer a node setting"):
        NodeConfig.model_validate({"consensus": {"timeout_precommit_ms": 300}})
