"""Principal role and hospital-scope helpers."""

from alliance_auth import Principal, Roles


def _principal(*roles: str, hospital_id: str | None = "H001") -> Principal:
    return Principal(subject="u", hospital_id=hospital_id, roles=frozenset(roles))


def test_has_role_is_true_when_any_role_matches() -> None:
    principal = _principal(Roles.HOSPITAL, Roles.QC_CENTER)
    assert principal.has_role(Roles.SUPPLIER, Roles.QC_CENTER)
    assert not principal.has_role(Roles.ALLIANCE_ADMIN)
    assert not principal.has_role()


def test_hospital_user_sees_only_its_own_hospital() -> None:
    principal = _principal(Roles.HOSPITAL)
    assert principal.can_see_hospital("H001")
    assert not principal.can_see_hospital("H002")
    assert not principal.can_see_hospital(None)


def test_admin_and_regulator_see_every_hospital() -> None:
    for role in (Roles.ALLIANCE_ADMIN, Roles.REGULATOR):
        assert _principal(role, hospital_id=None).can_see_hospital("H042")


def test_principal_without_hospital_sees_none() -> None:
    assert not _principal(Roles.SUPPLIER, hospital_id=None).can_see_hospital("H001")


def test_roles_are_plain_strings() -> None:
    assert Roles.HOSPITAL == "hospital"
    assert Roles.KNOWN == {"hospital", "alliance_admin", "qc_center", "regulator", "supplier"}
