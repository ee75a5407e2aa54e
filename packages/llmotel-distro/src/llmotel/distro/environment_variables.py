"""``opentelemetry-instrument`` flags for every llmotel variable.

``opentelemetry-instrument`` turns each attribute of this module whose name starts with ``OTEL_`` into a flag and
sets the environment variable *of that attribute's name* when the flag is given: ``--llmotel_redaction on``. The
distro and configurator copy it onto ``LLMOTEL_REDACTION`` at start-up (a flag wins over the variable, as for
OpenTelemetry's own flags). See ``_variables.flag_attribute`` for how the names are spelled.
"""

from llmotel.distro._variables import VARIABLES, flag_attribute

for _variable in VARIABLES:
    globals()[flag_attribute(_variable.name)] = _variable.name

del _variable
