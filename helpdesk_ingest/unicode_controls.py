"""The Unicode controls of text direction, which make text show in another order than it reads.

With them "invoice\u202efdp.exe" shows as "invoiceexe.pdf", and the rest of a terminal's line
after a right-to-left override shows reversed. Named once for every place that keeps them out:
file names (``parsing.filenames``) and what is written to a terminal (``terminal``).
"""

from __future__ import annotations

# The Arabic letter mark, the left-to-right and right-to-left marks, the embeddings and
# overrides with their closing pop (U+202A-U+202E), and the isolates (U+2066-U+2069).
TEXT_DIRECTION_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
