"""QR codes the kiosk shows (its pairing QR, the hand-off QR), drawn by the edge itself.

qrcode builds the matrix, Pillow writes the PNG; nothing is fetched from elsewhere.
The texts use QR alphanumeric characters only (CONTRACTS 5), which keeps the code
small enough to scan from a phone held at arm's length.
"""

from __future__ import annotations

import io

import qrcode
from qrcode.constants import ERROR_CORRECT_M
from qrcode.image.pil import PilImage


def qr_png(text: str, box_size: int = 10) -> bytes:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=box_size, border=4)
    code.add_data(text)
    code.make(fit=True)
    image = code.make_image(image_factory=PilImage, fill_color="black", back_color="white")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
