"""The web layer: the kiosk and staff screens over Flask and Flask-SocketIO.

``create_app`` builds the Flask app and its Socket.IO server; ``WebApp`` serves
them in a background thread and is what ``storeedge.app`` wires in.
"""

from storeedge.web.factory import TestConfig, WebConfig, create_app
from storeedge.web.server import WebApp

__all__ = ["TestConfig", "WebApp", "WebConfig", "create_app"]
