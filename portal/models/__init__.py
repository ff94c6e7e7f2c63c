"""Domain models, one module per concept. Importing this package registers them all."""
from portal.models.wilayah import Wilayah  # noqa: F401
from portal.models.user import User  # noqa: F401
from portal.models.kampung import KampungKB  # noqa: F401
from portal.models.pokja import PokjaPosition  # noqa: F401
from portal.models.plan import FundingSource, Plan, PlanRow  # noqa: F401
