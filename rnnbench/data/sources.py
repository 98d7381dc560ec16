"""Canonical addresses and SHA-256 sums of every data file rnnbench reads.

Paths are relative to the data root and mirror ../shared/data (see its PROVENANCE.md), so a
checkout of that folder can serve as the root. The sums are shipped in ``SHA256SUMS`` beside
this file, copied verbatim from ../shared/data/SHA256SUMS.
"""
from __future__ import annotations

from functools import lru_cache
from importlib import resources

_BOULANNI = "http://www-etud.iro.umontreal.ca/~boulanni/"
_WAYBACK = "https://web.archive.org/web/{stamp}id_/http://www-etud.iro.umontreal.ca:80/~boulanni/"

# Boulanger-Lewandowski, Bengio & Vincent (ICML 2012). The host is dead; the Wayback captures
# are tried next (the JSB and Piano-midi.de captures are the ones PROVENANCE.md checked; for
# the other two the archive redirects to its nearest capture). Every download is verified
# against the SHA-256 table, so a wrong mirror cannot slip through.
MUSIC_FILES = {
    "music/JSB Chorales.pickle": "JSB%20Chorales.pickle",
    "music/Nottingham.pickle": "Nottingham.pickle",
    "music/MuseData.pickle": "MuseData.pickle",
    "music/Piano-midi.de.pickle": "Piano-midi.de.pickle",
}
_STAMPS = {
    "music/JSB Chorales.pickle": "20141211164413",
    "music/Piano-midi.de.pickle": "20141211164423",
}


# Files that come inside an archive: relpath -> (archive address, member path in the archive).
# Only these members are ever extracted, each verified against the SHA-256 table.
_PTB = "http://www.fit.vutbr.cz/~imikolov/rnnlm/simple-examples.tgz"
_SCALE = "http://www.cs.cornell.edu/people/pabo/movie-review-data/scale_data.tar.gz"
_CRITICS = ("Dennis+Schwartz", "James+Berardinelli", "Scott+Renshaw", "Steve+Rhodes")
ARCHIVE_MEMBERS = {
    **{f"ptb/ptb.{s}.txt": (_PTB, f"simple-examples/data/ptb.{s}.txt") for s in ("train", "valid", "test")},
    **{f"sentiment/scaledata/{c}/{kind}.{c}": (_SCALE, f"scaledata/{c}/{kind}.{c}")
       for c in _CRITICS for kind in ("subj", "rating", "id", "label.3class", "label.4class")},
    "sentiment/scaledata.README.1.0.txt": (_SCALE, "scaledata.README.1.0.txt"),
}


def urls(relpath: str) -> list[str]:
    """Addresses to try, canonical first (for an archive member: the archive's)."""
    if relpath in ARCHIVE_MEMBERS:
        return [ARCHIVE_MEMBERS[relpath][0]]
    if relpath not in MUSIC_FILES:
        return []
    name = MUSIC_FILES[relpath]
    stamp = _STAMPS.get(relpath, "2014")
    return [_BOULANNI + name, _WAYBACK.format(stamp=stamp) + name]


@lru_cache(maxsize=None)
def sha256_table() -> dict[str, str]:
    """relpath -> expected SHA-256 hex digest, from the shipped SHA256SUMS."""
    text = resources.files("rnnbench.data").joinpath("SHA256SUMS").read_text()
    table = {}
    for line in text.splitlines():
        if line.strip():
            digest, path = line.split(None, 1)
            table[path.strip()] = digest
    return table
