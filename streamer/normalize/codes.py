"""Code tables: DICOM PS3.15 A.5.3 audit codes, FHIR codes and role names -> canonical values.

Rules as data: every mapping decision of the normalizers lives here, nowhere else.
"""

from __future__ import annotations

import re

# EventOutcomeIndicator (DICOM) / AuditEvent.outcome (FHIR R4) / audit-event-outcome (R5).
OUTCOMES = {"0": "success", "4": "minor_failure", "8": "serious_failure", "12": "major_failure"}

# DICOM A.5.3 audit EventIDs (CID 400). A dict value maps EventActionCode -> action; "*" is the
# default for any action code. Messages whose meaning depends on EventTypeCode are resolved
# first by EVENT_TYPES below.
EVENT_IDS: dict[str, dict[str, str]] = {
    "110100": {"*": "other"},                       # Application Activity (start/stop)
    "110101": {"*": "view"},                        # Audit Log Used (reading the audit trail)
    "110102": {"*": "other"},                       # Begin Transferring DICOM Instances (110104 reports the result)
    "110103": {"C": "import", "R": "view", "U": "edit", "D": "delete", "*": "view"},  # Instances Accessed
    "110104": {"C": "import", "R": "export", "U": "import", "D": "delete", "*": "export"},  # Instances Transferred
    "110105": {"*": "delete"},                      # DICOM Study Deleted
    "110106": {"*": "export"},                      # Export
    "110107": {"*": "import"},                      # Import
    "110108": {"*": "other"},                       # Network Entry (attach/detach of a node)
    "110109": {"C": "edit", "R": "view", "U": "edit", "D": "delete", "*": "other"},  # Order Record
    "110110": {"C": "edit", "R": "view", "U": "edit", "D": "delete", "*": "other"},  # Patient Record
    "110111": {"C": "edit", "R": "view", "U": "edit", "D": "delete", "*": "other"},  # Procedure Record
    "110112": {"*": "query"},                       # Query
    "110113": {"*": "other"},                       # Security Alert (subtype decides, see EVENT_TYPES)
    "110114": {"*": "login"},                       # User Authentication (subtype decides)
}

EVENT_ID_NAMES = {
    "110100": "Application Activity", "110101": "Audit Log Used",
    "110102": "Begin Transferring DICOM Instances", "110103": "DICOM Instances Accessed",
    "110104": "DICOM Instances Transferred", "110105": "DICOM Study Deleted", "110106": "Export",
    "110107": "Import", "110108": "Network Entry", "110109": "Order Record", "110110": "Patient Record",
    "110111": "Procedure Record", "110112": "Query", "110113": "Security Alert",
    "110114": "User Authentication",
}

# EventTypeCodes (CID 401-403 and friends) that decide the action on their own.
EVENT_TYPES: dict[str, str] = {
    "110120": "other",              # Application Start
    "110121": "other",              # Application Stop
    "110122": "login",              # Login
    "110123": "logout",             # Logout
    "110124": "other",              # Attach
    "110125": "other",              # Detach
    "110126": "login_failed",       # Node Authentication (a security alert: failed node auth)
    "110127": "emergency_access",   # Emergency Override Started
    "110128": "config_change",      # Network Configuration
    "110129": "config_change",      # Security Configuration
    "110130": "config_change",      # Hardware Configuration
    "110131": "config_change",      # Software Configuration
    "110132": "other",              # Use of Restricted Function
    "110133": "config_change",      # Audit Recording Stopped
    "110134": "config_change",      # Audit Recording Started
    "110135": "permission_change",  # Object Security Attributes Changed
    "110136": "permission_change",  # Security Roles Changed
    "110137": "permission_change",  # User security Attributes Changed
    "110138": "other",              # Emergency Override Stopped (the start is the access)
    "110139": "other",              # Remote Service Operation Started
    "110140": "other",              # Remote Service Operation Stopped
    "110141": "other",              # Local Service Operation Started
    "110142": "other",              # Local Service Operation Stopped
}

# Action of a record when nothing more specific is known (EventActionCode C/R/U/D/E).
ACTION_CODES = {"C": "edit", "R": "view", "U": "edit", "D": "delete", "E": "other"}

# FHIR restful-interaction codes (type "rest" in R4, code in R5).
FHIR_REST = {
    "read": "view", "vread": "view", "history": "query", "history-instance": "query",
    "history-type": "query", "history-system": "query", "search": "query", "search-type": "query",
    "search-system": "query", "create": "edit", "update": "edit", "patch": "edit",
    "delete": "delete", "capabilities": "other", "batch": "other", "transaction": "other",
    "operation": "other",
}

# Free-text subtype names that some systems send instead of codes.
TEXT_ACTIONS = {"login": "login", "logon": "login", "logout": "logout", "logoff": "logout",
                "disclosure": "export", "print": "print", "annotate": "annotate", "archive": "archive",
                "share": "share", "emergency": "emergency_access", "break-glass": "emergency_access",
                "breakglass": "emergency_access"}

# DICOM participant role codes that name a node or media, not a person.
ROLE_SOURCE, ROLE_DESTINATION, ROLE_DEST_MEDIA, ROLE_SOURCE_MEDIA = "110153", "110152", "110154", "110155"
MACHINE_ROLES = {"110150", "110151", ROLE_SOURCE, ROLE_DESTINATION, ROLE_DEST_MEDIA, ROLE_SOURCE_MEDIA}

# MediaType codes (CID 405) -> destination.type.
MEDIA_TYPES = {
    "110010": "printer",   # Film
    "110030": "media",     # USB Disk Emulation
    "110031": "email",     # Email
    "110032": "media",     # CD
    "110033": "media",     # DVD
    "110034": "media",     # Compact Flash
    "110035": "media",     # Multi-media Card
    "110036": "media",     # Secure Digital Card
    "110037": "web",       # URI
    "110038": "printer",   # Paper Document
}

# Person role codes (DCM, SNOMED CT) -> contract roles.
ROLE_CODES = {
    "66862007": "radiologist", "121081": "referring_physician", "309343006": "referring_physician",
    "158965000": "referring_physician", "121083": "technologist", "121084": "technologist",
    "159016003": "technologist", "121085": "student", "121086": "student", "121089": "student",
    "ADMIN": "system_administrator",
}

# Free-text role names (lower case, matched as substrings; first match wins).
ROLE_WORDS = (
    ("telerad", "teleradiologist"),
    ("radiolog", "radiologist"),
    ("technolog", "technologist"),
    ("radiographer", "technologist"),
    ("sonographer", "technologist"),
    ("referring", "referring_physician"),
    ("physician", "referring_physician"),
    ("clinician", "referring_physician"),
    ("doctor", "referring_physician"),
    ("compliance", "compliance_officer"),
    ("privacy", "compliance_officer"),
    ("auditor", "compliance_officer"),
    ("sysadmin", "system_administrator"),
    ("administrator", "system_administrator"),
    ("admin", "system_administrator"),
    ("student", "student"),
    ("intern", "student"),
    ("trainee", "student"),
    ("resident", "student"),
    ("schedul", "scheduler"),
    ("registration", "scheduler"),
    ("front desk", "scheduler"),
    ("clerk", "scheduler"),
)

CONTRACT_ROLES = ("radiologist", "technologist", "referring_physician", "system_administrator",
                  "compliance_officer", "teleradiologist", "student", "scheduler")

_ROLE_SPLIT = re.compile(r"[\s_\-]+")


def role_of(code: str | None, text: str | None) -> str | None:
    """Contract role for a role code and/or its display text, or None when nothing fits."""
    if code and code.strip() in ROLE_CODES:
        return ROLE_CODES[code.strip()]
    for value in (text, code):
        if not value:
            continue
        low = _ROLE_SPLIT.sub(" ", value.strip().lower())
        if low.replace(" ", "_") in CONTRACT_ROLES:
            return low.replace(" ", "_")
        for word, role in ROLE_WORDS:
            if word in low:
                return role
    return None


def sensitivity_of(value: str | None) -> str | None:
    """Study sensitivity from a DICOM ParticipantObjectSensitivity / FHIR security label."""
    if not value:
        return None
    v = value.strip().lower()
    if v in ("vip", "celebrity"):
        return "vip"
    if v in ("r", "v", "restricted", "very restricted", "confidential", "vr"):
        return "restricted"
    if v in ("n", "normal", "l", "low", "m", "moderate", "u", "unrestricted"):
        return "normal"
    return None
