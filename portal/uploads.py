"""Photo evidence: checked by content (JPEG, PNG or WebP only, at most MAX_PHOTO_BYTES), re-encoded
and resized, stored under the instance's upload folder with a random name, never served
statically (the route checks that the user may read the plan).

Re-encoding drops whatever else the file carried (EXIF with GPS position, trailing data).
"""
import os
import secrets
from pathlib import Path

from flask import current_app
from PIL import Image, ImageOps, UnidentifiedImageError

ACCEPTED = {"JPEG", "PNG", "WEBP"}
SIZES = {"": 1280, "kecil": 320}  # suffix → longest side in pixels
MAX_PIXELS = 40_000_000  # refuse decompression bombs well before Pillow's own limit


class PhotoError(ValueError):
    """The upload is not an acceptable photo (message in Indonesian)."""


def folder():
    path = Path(current_app.config["UPLOAD_FOLDER"] or Path(current_app.instance_path) / "uploads")
    path.mkdir(parents=True, exist_ok=True)
    return path


def save_photo(storage):
    """Validate and store an uploaded photo; returns its stored name. Raises PhotoError."""
    data = storage.stream.read(current_app.config["MAX_PHOTO_BYTES"] + 1)
    if len(data) > current_app.config["MAX_PHOTO_BYTES"]:
        raise PhotoError("Foto terlalu besar (paling besar 5 MB).")
    if not data:
        raise PhotoError("Berkas foto kosong.")
    from io import BytesIO
    try:
        with Image.open(BytesIO(data)) as probe:
            kind = probe.format
            if kind not in ACCEPTED:
                raise PhotoError("Foto harus berupa JPEG, PNG atau WebP.")
            if probe.width * probe.height > MAX_PIXELS:
                raise PhotoError("Ukuran gambar (piksel) terlalu besar.")
            probe.verify()
        with Image.open(BytesIO(data)) as image:
            image = ImageOps.exif_transpose(image).convert("RGB")
            name = secrets.token_hex(16)
            for suffix, side in SIZES.items():
                copy = image.copy()
                copy.thumbnail((side, side))
                copy.save(folder() / f"{name}{'-' + suffix if suffix else ''}.webp", "WEBP", quality=80)
    except PhotoError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise PhotoError("Berkas bukan foto yang dapat dibaca (JPEG, PNG atau WebP).") from exc
    return name


def photo_path(name, size=""):
    """The stored file for ``name`` (a hex token) at ``size`` ("" or "kecil"), or None."""
    if not name or not all(c in "0123456789abcdef" for c in name) or size not in SIZES:
        return None
    path = folder() / f"{name}{'-' + size if size else ''}.webp"
    return path if path.is_file() else None


def delete_photo(name):
    for suffix in SIZES:
        path = photo_path(name, suffix)
        if path is not None:
            os.remove(path)
