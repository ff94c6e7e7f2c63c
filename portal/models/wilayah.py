"""Administrative regions (wilayah) with Kemendagri codes.

Provinsi (2 digits) > Kabupaten/Kota (4) > Kecamatan (6) > Desa/Kelurahan (10). Codes are written
with dots as Kemendagri writes them (62.12.01.2001). A region whose official code is not known
(the source documents do not always give it) has no code and says why in ``note``; its parent may
then be a higher level than the one directly above (a kelurahan whose kota is not named sits
directly under its province).
"""
import re

from sqlalchemy import CheckConstraint, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db

LEVELS = ("provinsi", "kabupaten", "kecamatan", "desa")
CODE_DIGITS = {"provinsi": 2, "kabupaten": 4, "kecamatan": 6, "desa": 10}
_CODE_RE = re.compile(r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$")


def code_level(code):
    """The level a well-formed code belongs to, or None when it is malformed."""
    if not code or not _CODE_RE.match(code):
        return None
    digits = len(code.replace(".", ""))
    return {v: k for k, v in CODE_DIGITS.items()}.get(digits)


class Wilayah(db.Model):
    __tablename__ = "wilayah"
    __table_args__ = (
        CheckConstraint("level IN ('provinsi','kabupaten','kecamatan','desa')", name="level"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str | None] = mapped_column(db.String(13), unique=True)
    name: Mapped[str] = mapped_column(db.String(120))
    level: Mapped[str] = mapped_column(db.String(10), index=True)
    # "Kabupaten"/"Kota" or "Desa"/"Kelurahan" where known.
    kind: Mapped[str | None] = mapped_column(db.String(20))
    parent_id: Mapped[int | None] = mapped_column(db.ForeignKey("wilayah.id"), index=True)
    # IANA zone; set on provinces only (WIB/WITA/WIT).
    timezone: Mapped[str | None] = mapped_column(db.String(40))
    note: Mapped[str | None] = mapped_column(db.Text)

    parent: Mapped["Wilayah | None"] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list["Wilayah"]] = relationship(back_populates="parent")

    def __repr__(self):
        return f"<Wilayah {self.level} {self.code or '-'} {self.name}>"

    @property
    def lineage(self):
        """This region and its ancestors, from itself up to the province."""
        chain, node = [], self
        while node is not None:
            chain.append(node)
            node = node.parent
        return chain

    def ancestor(self, level):
        return next((w for w in self.lineage if w.level == level), None)

    @property
    def province(self):
        return self.ancestor("provinsi")

    @property
    def display_name(self):
        prefix = self.kind or {"provinsi": "Provinsi", "kecamatan": "Kecamatan"}.get(self.level, "")
        return f"{prefix} {self.name}".strip()

    def contains(self, other):
        """True when ``other`` is this region or lies inside it."""
        return other is not None and any(w.id == self.id for w in other.lineage)

    def descendant_ids_query(self):
        """SELECT of the ids of this region and everything below it (recursive CTE)."""
        tree = select(Wilayah.id).where(Wilayah.id == self.id).cte("tree", recursive=True)
        tree = tree.union_all(select(Wilayah.id).where(Wilayah.parent_id == tree.c.id))
        return select(tree.c.id)
