"""Every diagnostic code isthmus reports, with one line saying what is wrong.

The one place a code is described: SARIF output names its rules from here, and a test checks
that the README's "Diagnostic codes" table and the matrix of broken configurations cover
exactly these codes. A new code gets a line here in the same change that introduces it.
"""

from __future__ import annotations

CODES: dict[str, str] = {
    # Loading files
    "yaml-syntax": "the file is not valid YAML (or not UTF-8 text)",
    "duplicate-key": "a key appears twice in one mapping",
    "file-unreadable": "a file cannot be read",
    "unknown-key": "a key the file kind (or the connector) does not have",
    "missing-key": "a required key is absent",
    "invalid-value": "a value of the wrong type or form",
    "duplicate-entity": "two files declare the same entity",
    "duplicate-template": "two files declare the same template version",
    "duplicate-integration": "two files declare the same integration",
    "custom-function-path": "an entry of functions: is not a Python file inside the project",
    "custom-function-load": "a functions module fails to import or declares a wrong custom "
    "function",
    # Templates and their resolution
    "unknown-template": "an integration's template, or a template's parent, does not exist",
    "no-matching-template-version": "no version of the template matches the range asked for",
    "template-cycle": "templates extend each other in a cycle",
    "template-parent": "which parent version a template's extends picked",
    "broken-dependency": "a template or entity that is needed is in a file that did not load",
    "unknown-entity": "a mapping or write-back target names an entity that does not exist",
    "unknown-stream": "a mapping reads a stream the template does not declare",
    "unknown-connector": "a source or write-back connector that does not exist",
    "duplicate-name": "a write-back target has the name of a mapping",
    # The core model
    "unknown-core-field": "a field the core entity does not declare",
    "tenant-key-mapped": "a mapping fills the tenant key, which isthmus sets itself",
    "tenant-key-not-in-primary-key": "an entity's primary key lacks its tenant key",
    "constraint-type-mismatch": "a constraint that does not apply to the field's type",
    "unknown-reference": "a reference to a missing entity or field",
    "reference-cycle": "core entities reference each other in a cycle",
    # Mappings and expressions
    "required-field-unmapped": "a required or key field of the entity is filled by no expression",
    "undeclared-source-field": "a field the stream does not declare",
    "unknown-function": "an expression calls a function that does not exist",
    "bad-arguments": "a function is called with the wrong number, names or kinds of arguments",
    "expression-syntax": "an expression uses syntax outside the mapping language",
    "type-mismatch": "a value of one type where another is needed",
    "unsupported-type": "a declared source type a source cannot deliver",
    "cursor-field-unmapped": "a mapping's cursor_field is a core field it does not fill",
    "deletes-need-full-read": "delete propagation with an incremental read",
    "deletes-with-replace": "delete propagation with write: replace",
    "concurrency-needs-stream-commit": "max_concurrent_streams above 1 with commit: run",
    "value-not-in-enum": "a value a mapping gives statically that the field's enum does not allow",
    "constant-violates-constraint": "a value a mapping gives statically that breaks a constraint",
    "key-may-be-null": "a primary-key field filled by an expression that may be null",
    "lossy-conversion": "a value stored in a field of a type it converts to with a loss",
    "reference-target-unwritten": "a reference to an entity nothing writes and not preexisting",
    "duplicate-mapping": "two mappings write the same fields of one entity from one stream",
    # Write-back
    "unknown-field": "a write-back path placeholder that is not one of the target's fields",
    "invalid-cursor": "a write-back cursor_field of a type that cannot order changes",
    "missing-connection": "the template writes back, but the integration has no connection",
    # Integrations and secrets
    "unbound-secret": "a secret the template uses but the integration does not bind",
    "unused-secret": "a secret binding nobody uses",
    "credential-not-a-secret": "a credential-named key holds a value, not a secret reference",
    "invalid-schedule": "a cron expression that does not parse or never fires, or a zero interval",
    # Guardrails and exceptions
    "schedule-min-interval": "a schedule fires more often than the policy allows",
    "allowed-connectors": "a connector the policy does not allow",
    "override-not-allowed": "an override of a path the template does not make overridable",
    "replace-mode-requires-exception": "write: replace without an approved exception",
    "delete-propagation-requires-exception": "delete propagation without an approved exception",
    "max-rejected-fraction-ceiling": "max_rejected_fraction raised above the policy's ceiling",
    "pii-must-be-masked": "a write-back sends personal data as it is stored",
    "owner-required": "an integration names no owning team or contact",
    "escalation-required": "an integration has no escalation step",
    "custom-function-requires-exception": "a mapping expression calls a custom function",
    "exception-expiring": "an exception in use expires within 14 days",
    "stale-exception": "an exception that matches no violation",
}

# The codes of fixture test files, which `isthmus test` reports (never `isthmus validate`).
FIXTURE_CODES: dict[str, str] = {
    "fixture-unknown-integration": "a test case names an integration the project does not have",
    "fixture-unknown-mapping": "a test case names a mapping its integration does not have",
    "fixture-unknown-stream": "a test case names a stream no mapping of its integration reads",
    "fixture-ambiguous-stream": "a test case names a stream several mappings read",
    "fixture-unknown-entity": "existing rows for an entity the core model does not declare",
    "fixture-unknown-field": "an expected or existing row names a field its entity lacks",
    "fixture-value-type": "an expected or existing value is not of its field's type",
    "fixture-undeclared-field": "a test record has a field its stream does not declare",
    "fixture-record-out-of-range": "an expected rejection names a record the case does not have",
    "fixture-duplicate-record": "one record is expected to be rejected twice",
    "fixture-unknown-rule": "an expected rejection names a rule not checked on that field",
    "fixture-reference-unchecked": "an expected reference rejection without existing rows",
    "fixture-duplicate-name": "two cases of one test file have the same name",
}


def describe(code: str) -> str | None:
    """The one-line description of ``code``; None for a code not registered here."""
    return CODES.get(code) or FIXTURE_CODES.get(code)
