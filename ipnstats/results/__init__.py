"""The result interface shared by every ipnstats model, and its inference choices."""

from ipnstats.results.inference import WaldTest
from ipnstats.results.notes import NOTE_CODES, Note
from ipnstats.results.result import Inference, Result
from ipnstats.results.vcov import Cluster, describe_vcov, parse_vcov

__all__ = ["NOTE_CODES", "Cluster", "Inference", "Note", "Result", "WaldTest", "describe_vcov",
           "parse_vcov"]
