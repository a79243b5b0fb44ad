"""Chinese names in pinyin order (丁、曹、李 … as a person looks them up), not by character code.

``pinyin_key`` is the sort key (pypinyin's most common reading of each character, with tone
numbers, then the text itself so equal readings stay apart and the order is total).  SQLite gets it
as the ``PINYIN`` collation on every connection (storage.db), so lists sort in SQL:
``ORDER BY name COLLATE PINYIN``.  Keys are cached: a collation is asked n·log n times.
Polyphonic surnames follow the common reading, as ICU's Chinese collation does (曾 → ceng).
"""

from __future__ import annotations

from functools import lru_cache

from pypinyin import Style, lazy_pinyin


@lru_cache(maxsize=65536)
def pinyin_key(text: str | None) -> tuple:
    if not text:
        return ((), "")
    return (tuple(lazy_pinyin(text, style=Style.TONE3, errors=lambda s: list(s.lower()))), text)


def pinyin_compare(a: str | None, b: str | None) -> int:
    ka, kb = pinyin_key(a), pinyin_key(b)
    return (ka > kb) - (ka < kb)


def install_sqlite_collation(dbapi_conn) -> None:
    dbapi_conn.create_collation("PINYIN", pinyin_compare)


__all__ = ["pinyin_key", "pinyin_compare", "install_sqlite_collation"]
