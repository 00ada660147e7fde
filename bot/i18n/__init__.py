"""Language catalogues: one YAML file per language under ``locales/``."""

from bot.i18n.catalog import Catalog, Catalogs, load_catalogs

__all__ = ["Catalog", "Catalogs", "load_catalogs"]
