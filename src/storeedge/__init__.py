"""storeedge: the in-store edge service for omnichannel retail."""

__version__ = "0.1.0"
