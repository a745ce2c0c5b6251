"""The result interface shared by every ipnstats model, and its inference choices."""

from .inference import WaldTest
from .result import Inference, Result
from .vcov import Cluster, describe_vcov, parse_vcov

__all__ = ["Cluster", "Inference", "Result", "WaldTest", "describe_vcov", "parse_vcov"]
