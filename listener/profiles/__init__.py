"""Customer profiles: who is talking, across platforms.

Support and PR staff answer a customer with an open order, a VIP or a
journalist differently from a stranger, so every mention is attached to a
profile, and one person's X and Reddit accounts can become one profile.

- A **profile** (``customer_profiles``) holds a display name, emails, company,
  tier (standard, vip, press), CRM id, tags and notes. Imported customers come
  from the CRM; every other author gets a *prospect* profile.
- An **identity** (``identities``) links a profile to a platform account, with
  its provenance (imported, manual, automatic) and confidence. An imported
  identity may know only the handle; the first author seen with that handle
  fills in the platform user id, after which renames are followed by user id.
- **Matching** (:class:`~listener.profiles.matching.ProfileMatchStep`, the
  ``profiles`` processing step after sentiment) attaches each new mention: known
  account, else listed handle, else a new prospect.
- **Suggestions** (:mod:`listener.profiles.link_suggestions`) propose that two
  profiles are one person, with a score and reasons; nothing is linked until a
  person confirms. Dismissed pairs are never proposed again.
- **Merges** (:mod:`listener.profiles.merging`) move identities and mentions to
  the survivor; every merge can be undone exactly.
- **CRM import/export** (:mod:`listener.profiles.crm`, documented in
  ``config/customers.md``).
- **Timeline** (:mod:`listener.profiles.timeline`): a profile's mentions newest
  first with sentiment and sent replies, and the sentiment trend.

Command line: ``harken profiles --help``.
"""

from listener.profiles.crm import ColumnMapping, ImportReport, RowProblem, export_customers, import_customers
from listener.profiles.errors import (
    ColumnMappingError,
    CustomerFileError,
    IdentityConflict,
    InvalidProfileData,
    MergeNotFound,
    MergeRefused,
    ProfileError,
    ProfileMergedAway,
    ProfileNotFound,
    SuggestionAlreadyDecided,
    SuggestionNotFound,
    UnmergeRefused,
)
from listener.profiles.link_suggestions import (
    SuggestionView,
    confirm_suggestion,
    dismiss_suggestion,
    list_suggestions,
    suggest_links,
)
from listener.profiles.matching import MatchStats, ProfileMatchStep
from listener.profiles.merging import UnmergeResult, get_merge, merge_profiles, merges_of, unmerge
from listener.profiles.store import (
    TIERS,
    ProfileSummary,
    create_profile,
    get_profile,
    identities_of,
    link_identity,
    list_profiles,
    live_profile,
    profile_fields,
    update_profile,
)
from listener.profiles.timeline import TimelineEntry, TrendPoint, profile_timeline, sentiment_trend

__all__ = [
    "TIERS",
    "ColumnMapping",
    "ColumnMappingError",
    "CustomerFileError",
    "IdentityConflict",
    "ImportReport",
    "InvalidProfileData",
    "MatchStats",
    "MergeNotFound",
    "MergeRefused",
    "ProfileError",
    "ProfileMatchStep",
    "ProfileMergedAway",
    "ProfileNotFound",
    "ProfileSummary",
    "RowProblem",
    "SuggestionAlreadyDecided",
    "SuggestionNotFound",
    "SuggestionView",
    "TimelineEntry",
    "TrendPoint",
    "UnmergeRefused",
    "UnmergeResult",
    "confirm_suggestion",
    "create_profile",
    "dismiss_suggestion",
    "export_customers",
    "get_merge",
    "get_profile",
    "identities_of",
    "import_customers",
    "link_identity",
    "list_profiles",
    "list_suggestions",
    "live_profile",
    "merge_profiles",
    "merges_of",
    "profile_fields",
    "profile_timeline",
    "sentiment_trend",
    "suggest_links",
    "unmerge",
    "update_profile",
]
