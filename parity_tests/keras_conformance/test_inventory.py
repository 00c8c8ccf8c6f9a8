"""The inventory stays honest: every ported id names a real Keras test, every not-applicable
rule still matches something, and nothing is both ported and declared not applicable."""
import re

from parity_tests.keras_conformance import inventory


def test_every_ported_id_is_a_keras_test():
    unknown = inventory.ported_ids() - set(inventory.keras_case_ids())
    assert not unknown, f"ids that name no test in the installed Keras: {sorted(unknown)}"


def test_every_not_applicable_rule_matches_a_keras_test():
    ids = inventory.keras_case_ids()
    stale = [pattern for pattern, _ in inventory.NOT_APPLICABLE
             if not any(re.fullmatch(pattern, case_id) for case_id in ids)]
    assert not stale, f"rules that match no Keras test: {stale}"


def test_nothing_is_both_ported_and_not_applicable():
    both = sorted(case_id for case_id in inventory.ported_ids()
                  if inventory.not_applicable_reason(case_id) is not None)
    assert not both, f"ported cases declared not applicable: {both}"


def test_the_scope_is_read_from_the_installed_keras():
    ids = inventory.keras_case_ids()
    assert len(ids) > 500 and len({case_id.split("::")[0] for case_id in ids}) == \
        len(inventory.SCOPE)
