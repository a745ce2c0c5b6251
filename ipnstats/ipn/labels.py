"""The IPN study's display labels of its identifier columns, which the general tables no
longer build in: the study passes them (``regression_table(..., labels=ID_LABELS | ...,
unit_label=UNIT_LABEL)``)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

#: Labels of the identifier columns of the study's frames.
ID_LABELS: Mapping[str, str] = MappingProxyType({
    "firm_id": "Firm", "year": "Year", "group_id": "Peer group", "sender_id": "Sender",
    "receiver_id": "Receiver", "industry": "Industry", "region": "Region"})
#: Label of the ``n_units`` row of the study's regression tables: its units are firms.
UNIT_LABEL = "Firms"

__all__ = ["ID_LABELS", "UNIT_LABEL"]
