"""The `hybrid` commands, one module per group; cli.py is the door that registers them."""
