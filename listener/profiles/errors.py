"""The errors of customer profiles: each names what was refused and why, in one line for staff."""

from __future__ import annotations

from listener.errors import HarkenError


class ProfileError(HarkenError):
    """Base of every customer-profile error."""


class ProfileNotFound(ProfileError, LookupError):
    """No profile has this id."""


class ProfileMergedAway(ProfileError):
    """The profile was merged into another; act on the survivor (or undo the merge)."""


class InvalidProfileData(ProfileError, ValueError):
    """A field value Harken cannot store: an invalid email, an unknown tier, a malformed handle."""


class IdentityConflict(ProfileError):
    """The platform account is already linked to another profile."""


class SuggestionNotFound(ProfileError, LookupError):
    """No link suggestion has this id."""


class SuggestionAlreadyDecided(ProfileError):
    """The suggestion was already confirmed, dismissed or superseded by a merge."""


class MergeRefused(ProfileError):
    """The two profiles cannot be merged (the same profile, or one was merged away already)."""


class MergeNotFound(ProfileError, LookupError):
    """No merge has this id."""


class UnmergeRefused(ProfileError):
    """The merge cannot be undone now: already undone, or a later merge depends on it."""


class ColumnMappingError(ProfileError, ValueError):
    """A CSV column mapping (or the file's header) that the import cannot work with."""


class CustomerFileError(ProfileError):
    """A customer file that cannot be read at all (not UTF-8, no header)."""
