"""A menu `Turn` as TwiML for Twilio's voice webhook (DESIGN §7).

A caller may rely on the shape of what `render` returns:
- every sentence is its own `<Say voice=… language=…>` (the voice of the sentence's
  language, `sms.voice_texts.VOICES`) holding `<prosody rate="85%">text<break/></prosody>`:
  slow, clear speech with a short pause after each sentence;
- a turn that listens wraps its sentences in `<Gather input="dtmf" action=… method="POST"
  finishOnKey="#" timeout=… actionOnEmptyResult="true">` (plus `numDigits="1"` where
  one key decides), so the caller may press keys while it speaks; then a `<Redirect>`
  to the same action, for a Twilio that falls through a Gather without input;
- a turn that does not listen says its sentences and ends with `<Hangup/>`.
"""

from __future__ import annotations

from twilio.twiml.voice_response import VoiceResponse

from sms.voice_menu import Turn
from sms.voice_texts import PAUSE, RATE, VOICES


def render(turn: Turn, action_url: str) -> str:
    """TwiML for `turn`; `action_url` is where the Gather sends the keys (absolute)."""
    response = VoiceResponse()
    if turn.listen is None:
        _say_all(response, turn)
        response.hangup()
        return str(response)
    options = {"input": "dtmf", "action": action_url, "method": "POST", "finish_on_key": "#",
               "timeout": turn.listen.timeout, "action_on_empty_result": True}
    if turn.listen.single_key:
        options["num_digits"] = 1
    gather = response.gather(**options)
    _say_all(gather, turn)
    response.redirect(action_url, method="POST")
    return str(response)


def empty() -> str:
    """An empty TwiML response (for callbacks that only inform us)."""
    return str(VoiceResponse())


def _say_all(parent, turn: Turn) -> None:
    for line in turn.say:
        voice = VOICES[line.lang]
        say = parent.say(voice=voice.name, language=voice.language)
        prosody = say.prosody(line.text, rate=RATE)
        prosody.break_(time=PAUSE)
