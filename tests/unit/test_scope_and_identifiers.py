"""Scope keys are canonical and identifiers are validated before they reach SQL."""

import pytest

from recon_operators.engine.identifiers import IdentifierError, quote_ident, quote_qualified
from recon_operators.engine.scope import Scope, ScopeError


def test_scope_key_is_canonical_whatever_the_order_of_fields():
    a = Scope.from_mapping({"env": "dev", "cohort_id": "C1", "batch_id": 7, "region": "west"})
    b = Scope.from_mapping({"region": "west", "batch_id": "7", "cohort_id": "C1", "env": "dev"})
    assert a.key == b.key == "batch_id=7;cohort_id=C1;env=dev;region=west"


def test_empty_values_are_not_part_of_the_scope():
    scope = Scope.from_mapping({"env": "dev", "prefix": "", "batch_id": None})
    assert scope.as_dict() == {"env": "dev"}


def test_scope_requires_env():
    with pytest.raises(ScopeError, match="env"):
        Scope.from_mapping({"cohort_id": "C1"})


@pytest.mark.parametrize("value", ["C1;env=prod", "a b", "x'--", ""])
def test_scope_values_that_could_forge_a_key_are_refused(value):
    if value == "":
        assert Scope.from_mapping({"env": "dev", "cohort_id": value}).cohort_id is None
        return
    with pytest.raises(ScopeError, match="cohort_id"):
        Scope(env="dev", cohort_id=value)


def test_with_stage_keeps_the_slice_and_changes_the_hop():
    scope = Scope(env="dev", cohort_id="C1", batch_id="3")
    assert scope.with_stage("mr2").key == "batch_id=3;cohort_id=C1;env=dev;stage=mr2"


def test_identifiers_are_quoted_per_dialect():
    assert quote_qualified("mini_recon_1.tbl_addon_count") == '"mini_recon_1"."tbl_addon_count"'
    assert quote_ident("subscribers", "mysql") == "`subscribers`"


@pytest.mark.parametrize("bad", ['users"; drop table x; --', "1abc", "a.b.c.d", "", "na me"])
def test_bad_identifiers_are_refused(bad):
    with pytest.raises(IdentifierError):
        quote_qualified(bad)
