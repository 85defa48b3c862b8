"""Sentiment: language detection, a transformers classifier, training and evaluation."""
