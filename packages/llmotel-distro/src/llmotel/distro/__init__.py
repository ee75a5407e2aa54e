"""Zero-code llmotel under ``opentelemetry-instrument``, and the ``llmotel`` CLI.

    pip install 'llmotel-distro[all]'
    OTEL_PYTHON_CONFIGURATOR=llmotel opentelemetry-instrument python app.py

or, in code, build the same providers from the same variables::

    from llmotel.distro import configure

    providers = configure(set_global=True)
"""

from llmotel.distro._distro import LLMotelConfigurator, LLMotelDistro
from llmotel.distro._settings import Settings, read_settings
from llmotel.distro._setup import Providers, configure
from llmotel.distro._variables import VARIABLES, Variable
from llmotel.distro.version import __version__

__all__ = [
    "VARIABLES",
    "LLMotelConfigurator",
    "LLMotelDistro",
    "Providers",
    "Settings",
    "Variable",
    "__version__",
    "configure",
    "read_settings",
]
