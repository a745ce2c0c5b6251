"""Measurement: validity, aggregation, agreement, common-method and nonresponse checks."""
