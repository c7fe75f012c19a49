"""The enrollment QR code, drawn on the server as inline SVG."""

from __future__ import annotations

import qrcode
import qrcode.image.svg
from django.utils.safestring import SafeString, mark_safe


def qr_svg(data: str) -> SafeString:
    """An ``<svg>`` element encoding ``data``: no image file, no outside service."""
    image = qrcode.make(
        data,
        image_factory=qrcode.image.svg.SvgPathImage,
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        box_size=10,
        border=4,
    )
    svg = image.to_string(encoding="unicode")
    # The markup is qrcode's own (a path of squares), never the data as text.
    return mark_safe(svg)  # noqa: S308
