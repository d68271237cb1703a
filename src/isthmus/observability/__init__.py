"""Layer 4, observability: run history, record-level errors, masking of personal data."""

from isthmus.observability.history import RunDetails, pii_policy, run_details
from isthmus.observability.masking import PiiPolicy, mask_value

__all__ = ["PiiPolicy", "RunDetails", "mask_value", "pii_policy", "run_details"]
