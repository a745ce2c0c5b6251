"""The Industry Peer Network study layer: the hypotheses H1-H3, what each fits on the
study's frames, the IPN defaults (``firm_id``, ``year``, ``receiver_id`` ...), the
claims and their verdict rules. Built on the general estimators below it."""
