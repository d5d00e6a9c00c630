"""hybrid's hub: where paper, SMS and voice meet.

Nothing in this package imports `forms`, `ocr` or `sms`; they import it.
"""

__version__ = "0.1.0"
