"""Text normalisation shared by training and inference.

The TweetEval training tweets have user mentions replaced by ``@user`` and URLs
removed; live mentions must look the same to the model or its accuracy drops.
"""

from __future__ import annotations

import re

_USER = re.compile(r"(?<![\w@])@\w{1,30}")
_URL = re.compile(r"https?://\S+|www\.\S+")
_SPACE = re.compile(r"\s+")


def normalise_for_model(text: str) -> str:
    """Mask handles and drop URLs the way the training data was prepared."""
    text = _USER.sub("@user", text)
    text = _URL.sub("", text)
    return _SPACE.sub(" ", text).strip()
