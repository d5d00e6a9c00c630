"""Phones in: SMS grammar, replies, Twilio webhook server, voice menu, backfill."""
