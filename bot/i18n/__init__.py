"""Language catalogues: one YAML file per language under ``locales/``."""

from bot.i18n.catalog import Catalog, Catalogs, format_day, load_catalogs, with_direction

__all__ = ["Catalog", "Catalogs", "format_day", "load_catalogs", "with_direction"]
