"""The result interface shared by every ipnstats model, and its inference choices."""

from ipnstats.results.inference import WaldTest
from ipnstats.results.notes import NOTE_CODES, Note
from ipnstats.results.result import Inference, Result
from ipnstats.results.vcov import SSC, Cluster, Dyadic, describe_vcov, parse_vcov

__all__ = ["NOTE_CODES", "SSC", "Cluster", "Dyadic", "Inference", "Note", "Result", "WaldTest",
           "describe_vcov", "parse_vcov"]
