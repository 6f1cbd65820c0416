"""The model catalogue: data (data/catalog.json), JSON Schema → form fields, price rules. Pure: no I/O but loading."""
from kiebot.catalog.common import CatalogError
from kiebot.catalog.fields import FieldKind, FieldSpec, Parent
from kiebot.catalog.model import Catalog, ModelSpec

__all__ = ["Catalog", "CatalogError", "FieldKind", "FieldSpec", "ModelSpec", "Parent"]
