"""A mock CRM API for the demo and the tests: accounts and contacts over real HTTP, with the
auth modes, pagination styles and faults a REST source must cope with, and write endpoints
that honour idempotency keys."""

from isthmus.demo.mockcrm.auth import AUTH_MODES, AuthMode, MockCredentials
from isthmus.demo.mockcrm.data import CrmReport
from isthmus.demo.mockcrm.faults import Faults, parse_fault
from isthmus.demo.mockcrm.paging import STYLES, Style
from isthmus.demo.mockcrm.server import MockCrm, SeenRequest
from isthmus.demo.mockcrm.writes import ReceivedWrite

__all__ = [
    "AUTH_MODES",
    "STYLES",
    "AuthMode",
    "CrmReport",
    "Faults",
    "MockCredentials",
    "MockCrm",
    "ReceivedWrite",
    "SeenRequest",
    "Style",
    "parse_fault",
]
