"""Taizhang core: field schema, models, validation, the repository (the one write path), migrations."""

__version__ = "0.1.0"
# Protocol version spoken between clients and the county server (see sync.protocol).
PROTOCOL_VERSION = 1
