"""The review web page (issue 6): `hybrid review serve`. The decisions live in `hybrid.review`."""
