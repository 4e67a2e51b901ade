# The console pages of self-evaluation, improvement actions and the assessment live in their
# own module (DB1403/T 7.4, 8.1, 8.3).
from . import admin_improvement  # noqa: F401
