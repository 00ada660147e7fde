"""Language detection and text normalisation for the assistant's languages.

Public API, kept stable::

    from bot.language import detect_language
    detect_language("waan ku faraxsanahay")  # -> "so"
"""

from bot.language.detect import LANGUAGES, UNDETERMINED, Detection, LanguageDetector, detect_language

__all__ = ["LANGUAGES", "UNDETERMINED", "Detection", "LanguageDetector", "detect_language"]
