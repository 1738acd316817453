"""The languages a host can say a space is in: BCP 47 tags with their names."""

from __future__ import annotations

#: Some forty of the most spoken languages, by their primary tag, named in English and
#: in their own words; the form lists them by English name.
LANGUAGES: dict[str, str] = {
    "am": "Amharic (አማርኛ)",
    "ar": "Arabic (العربية)",
    "bn": "Bengali (বাংলা)",
    "cs": "Czech (čeština)",
    "de": "German (Deutsch)",
    "el": "Greek (Ελληνικά)",
    "en": "English",
    "es": "Spanish (español)",
    "fa": "Persian (فارسی)",
    "fi": "Finnish (suomi)",
    "fr": "French (français)",
    "gu": "Gujarati (ગુજરાતી)",
    "ha": "Hausa",
    "he": "Hebrew (עברית)",
    "hi": "Hindi (हिन्दी)",
    "hu": "Hungarian (magyar)",
    "id": "Indonesian (Bahasa Indonesia)",
    "it": "Italian (italiano)",
    "ja": "Japanese (日本語)",
    "jv": "Javanese (Basa Jawa)",
    "kn": "Kannada (ಕನ್ನಡ)",
    "ko": "Korean (한국어)",
    "mr": "Marathi (मराठी)",
    "ms": "Malay (Bahasa Melayu)",
    "my": "Burmese (မြန်မာ)",
    "nl": "Dutch (Nederlands)",
    "pa": "Punjabi (ਪੰਜਾਬੀ)",
    "pl": "Polish (polski)",
    "pt": "Portuguese (português)",
    "ro": "Romanian (română)",
    "ru": "Russian (русский)",
    "sv": "Swedish (svenska)",
    "sw": "Swahili (Kiswahili)",
    "ta": "Tamil (தமிழ்)",
    "te": "Telugu (తెలుగు)",
    "th": "Thai (ไทย)",
    "tl": "Tagalog",
    "tr": "Turkish (Türkçe)",
    "uk": "Ukrainian (українська)",
    "ur": "Urdu (اردو)",
    "vi": "Vietnamese (Tiếng Việt)",
    "yo": "Yoruba (Yorùbá)",
    "zh": "Chinese (中文)",
}

#: The form's choices: (tag, name), by name, English first as the default.
CHOICES: list[tuple[str, str]] = sorted(LANGUAGES.items(), key=lambda item: item[1])
DEFAULT = "en"


def check_language(tag: str) -> str:
    """Return the tag if it is one of the listed languages, else raise ValueError."""
    clean = tag.strip()
    if clean not in LANGUAGES:
        raise ValueError("Pick the space's language from the list.")
    return clean
