"""The three sentiment labels, in the order of the training data's 0/1/2."""

LABELS: tuple[str, ...] = ("negative", "neutral", "positive")
UNSCORED = "unscored"
