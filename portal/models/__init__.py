"""Domain models, one module per concept. Importing this package registers them all."""
from portal.models.wilayah import Wilayah  # noqa: F401
from portal.models.user import User  # noqa: F401
from portal.models.kampung import KampungKB  # noqa: F401
from portal.models.pokja import PokjaPosition  # noqa: F401
from portal.models.plan import FundingSource, Plan, PlanRow  # noqa: F401
from portal.models.approval import Signature  # noqa: F401
from portal.models.audit import AuditEntry  # noqa: F401
from portal.models.progress import ActivityProgress, OccurrenceMark, Realisation, RealisationSpend  # noqa: F401
from portal.models.calendar import CalendarEvent, FeedSubscription  # noqa: F401
from portal.models.rumahdata import DataRecord, DataStatement  # noqa: F401
from portal.models.data_version import DataVersion  # noqa: F401  (and the listeners that bump it)
from portal.models import locking  # noqa: F401,E402  (triggers and the flush guard)
