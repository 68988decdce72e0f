"""Product pictures: one per product, checked when an admin sets it, sent to kiosks by sku.

A picture is checked by the rules the kiosk applies before it shows one (``kiosk_common.pictures``:
PNG or JPEG by its bytes, at most 512 KiB, at most 2048 pixels a side), so an admin hears at upload
what a kiosk would otherwise only log. Its file name on the kiosk is ``<sku>.png`` or ``<sku>.jpg``
by what the bytes are, whatever the uploaded file was called. Setting or removing a picture stamps
the product with a new catalog version, so the next delta carries the product with its new picture
reference (or none), and the kiosk fetches (or removes) the file.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from hq import i18n
from hq.i18n import Text
from hq.models import Product, ProductPicture, database, utc_now
from hq.versioning import next_version
from kiosk_common.pictures import SAFE_SKU, ImageRefused, check_image


class PictureRefused(ValueError):
    """A picture HQ will not store (or remove); ``text`` says why and what to do, in both languages."""

    def __init__(self, text: Text) -> None:
        super().__init__(text.en)
        self.text = text


@dataclass(frozen=True, slots=True)
class PictureInfo:
    """A stored picture without its bytes: what lists and the catalog answer show."""

    sku: str
    name: str
    media_type: str
    sha256: str
    size: int
    width: int
    height: int
    uploaded_at: datetime


_INFO_FIELDS = (
    ProductPicture.product,
    ProductPicture.name,
    ProductPicture.media_type,
    ProductPicture.sha256,
    ProductPicture.size,
    ProductPicture.width,
    ProductPicture.height,
    ProductPicture.uploaded_at,
)


def _info(row: ProductPicture) -> PictureInfo:
    return PictureInfo(
        str(row.product_id),
        row.name,
        row.media_type,
        row.sha256,
        int(row.size),
        int(row.width),
        int(row.height),
        row.uploaded_at,
    )


def set_picture(sku: str, data: bytes) -> tuple[PictureInfo, bool]:
    """Store ``data`` as the picture of ``sku`` (replacing any); (its info, whether anything changed).

    PictureRefused when the sku cannot name a file, HQ has no such product, or the bytes are not
    a picture a kiosk would show. The same bytes again change nothing and take no version.
    """
    if not SAFE_SKU.fullmatch(sku):
        raise PictureRefused(i18n.PICTURE_BAD_SKU.format(sku=sku))
    try:
        checked = check_image(data)
    except ImageRefused as exc:
        raise PictureRefused(i18n.PICTURE_REFUSED.format(sku=sku, reason=str(exc))) from None
    digest = hashlib.sha256(data).hexdigest()
    with database.atomic():
        if Product.get_or_none(Product.sku == sku) is None:
            raise PictureRefused(i18n.PICTURE_NO_PRODUCT.format(sku=sku))
        held = ProductPicture.select(*_INFO_FIELDS).where(ProductPicture.product == sku).first()
        if held is not None and held.sha256 == digest:
            return _info(held), False
        values = {
            "name": f"{sku}{checked.suffix}",
            "media_type": checked.media_type,
            "sha256": digest,
            "size": len(data),
            "width": checked.width,
            "height": checked.height,
            "data": data,
            "uploaded_at": utc_now(),
        }
        if held is None:
            ProductPicture.insert(product=sku, **values).execute()
        else:
            ProductPicture.update(**values).where(ProductPicture.product == sku).execute()
        Product.update(version=next_version()).where(Product.sku == sku).execute()
        row = ProductPicture.select(*_INFO_FIELDS).where(ProductPicture.product == sku).get()
    return _info(row), True


def remove_picture(sku: str) -> None:
    """Remove the picture of ``sku``; PictureRefused when it has none (a typo does not pass unseen)."""
    with database.atomic():
        removed = ProductPicture.delete().where(ProductPicture.product == sku).execute()
        if not removed:
            raise PictureRefused(i18n.PICTURE_NONE.format(sku=sku))
        Product.update(version=next_version()).where(Product.sku == sku).execute()


def list_pictures() -> list[PictureInfo]:
    """Every stored picture, by sku, without the bytes."""
    query = ProductPicture.select(*_INFO_FIELDS).order_by(ProductPicture.product)
    return [_info(row) for row in query]


def pictures_of(skus: set[str] | None) -> dict[str, PictureInfo]:
    """The pictures of ``skus`` (None: all), without the bytes: what the catalog answer carries."""
    query = ProductPicture.select(*_INFO_FIELDS)
    if skus is None:
        return {info.sku: info for info in map(_info, query)}
    found: dict[str, PictureInfo] = {}
    ordered = sorted(skus)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        found.update({info.sku: info for info in map(_info, query.where(ProductPicture.product.in_(chunk)))})
    return found


@dataclass(frozen=True, slots=True)
class PictureBytes:
    name: str
    media_type: str
    sha256: str
    data: bytes


def picture_bytes(sku: str) -> PictureBytes | None:
    """The stored picture of ``sku`` with its bytes; None when it has none."""
    row = ProductPicture.get_or_none(ProductPicture.product == sku)
    if row is None:
        return None
    return PictureBytes(row.name, row.media_type, row.sha256, bytes(row.data))
