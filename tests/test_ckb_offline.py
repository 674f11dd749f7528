"""Offline machines: missing weights fail at once with the good error (no minutes of retries), and
transformers' advice to install torchvision (which would break the BLIP imports) is not shown."""

import logging

import pytest

from vlmcsc.model import ckb


def test_hf_hub_offline_counts_as_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert "HF_HUB_OFFLINE" in ckb.hub_unreachable()
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # discard port: nothing listens
    assert "cannot reach 127.0.0.1:9" in ckb.hub_unreachable()


def test_missing_weights_on_an_offline_machine_fail_without_contacting_the_hub(monkeypatch, tmp_path):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("HF_HOME", str(tmp_path))  # an empty cache
    calls = []
    with pytest.raises(ckb.ModelUnavailableError, match="looks offline") as err:
        ckb.load_pretrained("someorg/some-model", lambda source, local: calls.append(source), "test model")
    assert calls == []  # the loader (and its download retries) never ran
    assert "someorg/some-model" in str(err.value)


def test_torchvision_advice_is_filtered():
    log = logging.getLogger("transformers.utils.import_utils")
    advice = log.makeRecord(log.name, logging.WARNING, __file__, 1,
                            "`CLIPImageProcessor` requires torchvision (not installed); falling back", None, None)
    other = log.makeRecord(log.name, logging.WARNING, __file__, 1, "something else", None, None)
    assert not log.filter(advice) and log.filter(other)
