"""Test and demo tools: stand-ins for Twilio and for the city's gateway phone, and the
demo's message sender.

Never imported by hybrid/, ocr/, forms/, sms/ or review/; not installed with the package
(run from the repository root, which is on sys.path for `python -m pytest`, `make demo`
and the benchmarks).
"""
