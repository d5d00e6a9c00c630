"""What `hybrid sms serve` needs from the environment and from process.yaml."""

from __future__ import annotations

import re

import pytest

from hybrid.definition_file import load_process
from hybrid.errors import InvalidInput
from paper_deck import EXAMPLES
from sms.twilio_config import from_environment

ENVIRONMENT = {"TWILIO_ACCOUNT_SID": "AC" + "ab" * 16, "TWILIO_AUTH_TOKEN": "secret",
               "HYBRID_PUBLIC_URL": "https://abstimmung.example.de"}


def process_with(tmp_path, *, sms: bool, voice: bool):
    text = (EXAMPLES / "poll.yaml").read_text(encoding="utf-8")
    if not sms:
        text = re.sub(r"(?m)^  sms:\n    number: .*\n", "", text)
    if not voice:
        text = re.sub(r"(?m)^  voice:\n    number: .*\n", "", text)
    path = tmp_path / "process.yaml"
    path.write_text(text, encoding="utf-8")
    process = load_process(path)
    assert (process.channels.sms is not None, process.channels.voice is not None) == (sms, voice)
    return process


def test_a_process_with_only_a_voice_channel_can_serve_calls(tmp_path):
    config = from_environment(process_with(tmp_path, sms=False, voice=True), environ=ENVIRONMENT)
    assert config.sms_number == ""  # the SMS route then refuses every message (To never matches)


def test_sms_needs_its_number(tmp_path):
    assert from_environment(process_with(tmp_path, sms=True, voice=False), environ=ENVIRONMENT).sms_number
    with pytest.raises(InvalidInput, match="channels.sms.number is missing"):
        from_environment(process_with(tmp_path, sms=False, voice=False), environ=ENVIRONMENT)
