"""Every detector, registered in one place. Adding one: a module here, an entry in
schemas/rules/detectors.yaml, a scenario in tests/models/test_detector_contract.py."""

from __future__ import annotations

from models.detectors.base import Detector
from models.detectors.break_glass import BreakGlass
from models.detectors.bulk_export import BulkExport
from models.detectors.config_change import ConfigChange
from models.detectors.dormant_account import DormantAccount
from models.detectors.expired_role import ExpiredRole
from models.detectors.export_destination import ExportDestination
from models.detectors.failed_login_burst import FailedLoginBurst
from models.detectors.grant_then_export import GrantThenExport
from models.detectors.inactive_user import InactiveUser
from models.detectors.missing_mfa import MissingMfa
from models.detectors.odd_hours import OddHours
from models.detectors.online_model import OnlineModel
from models.detectors.password_spray import PasswordSpray
from models.detectors.patient_sweep import PatientSweep
from models.detectors.role_permission import RolePermission
from models.detectors.self_access import SelfAccess
from models.detectors.watchlist_patient import WatchlistPatient

REGISTRY: dict[str, type[Detector]] = {cls.name: cls for cls in (
    BulkExport, PatientSweep, OddHours, ExportDestination, RolePermission, MissingMfa,
    InactiveUser, DormantAccount, FailedLoginBurst, PasswordSpray, GrantThenExport, ConfigChange,
    WatchlistPatient, SelfAccess, BreakGlass, ExpiredRole, OnlineModel,
)}


def build(rules: dict) -> list[Detector]:
    """One instance per detector that has a rule; a registered detector without a rule is an
    error (so a rule file cannot silently switch one off by omission: use `enabled: false`)."""
    out = []
    for name, cls in REGISTRY.items():
        rule = rules["detectors"].get(name)
        if rule is None:
            raise ValueError(f"detector {name!r} has no rule in detectors.yaml")
        if rule.get("enabled", True):
            out.append(cls(rule))
    return out
