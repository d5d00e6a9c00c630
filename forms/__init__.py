"""Paper out: the ballot layout and its PDF rendering (reportlab)."""
