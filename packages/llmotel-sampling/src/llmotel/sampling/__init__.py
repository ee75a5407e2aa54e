"""Session-consistent head sampling and LLM-aware tail sampling with bounded memory.

Three ways to use it (see the README):

* ``OTEL_TRACES_SAMPLER=llmotel_session`` (+ ``OTEL_TRACES_SAMPLER_ARG=0.1``): the
  :class:`SessionRatioSampler` through the ``opentelemetry_traces_sampler`` entry point;
* in code: ``TracerProvider(sampler=SessionRatioSampler(0.1))`` and
  ``add_span_processor(TailSamplingProcessor(BatchSpanProcessor(exporter), policies=[...]))``;
* from ``LLMOTEL_SAMPLING_*`` variables: :func:`session_sampler_from_env` and
  :func:`sampling_span_processor_from_env` (what the llmotel distro calls).
"""

from llmotel.sampling._config import (
    check_env,
    sampling_span_processor_from_env,
    session_sampler_factory,
    session_sampler_from_env,
    tail_policies_from_env,
    tail_sampling_processor_from_env,
)
from llmotel.sampling._head import KeepRules, SessionRatioSampler
from llmotel.sampling._policies import (
    AttributePolicy,
    CostFunction,
    CostPolicy,
    ErrorPolicy,
    LatencyPolicy,
    ProbabilisticPolicy,
    RateLimitPolicy,
    TailPolicy,
    TokenPolicy,
)
from llmotel.sampling._rate_limit import RateLimitingSpanProcessor
from llmotel.sampling._tail import OverflowDecision, TailSamplingProcessor
from llmotel.sampling.version import __version__

__all__ = [
    "AttributePolicy",
    "CostFunction",
    "CostPolicy",
    "ErrorPolicy",
    "KeepRules",
    "LatencyPolicy",
    "OverflowDecision",
    "ProbabilisticPolicy",
    "RateLimitPolicy",
    "RateLimitingSpanProcessor",
    "SessionRatioSampler",
    "TailPolicy",
    "TailSamplingProcessor",
    "TokenPolicy",
    "__version__",
    "check_env",
    "sampling_span_processor_from_env",
    "session_sampler_factory",
    "session_sampler_from_env",
    "tail_policies_from_env",
    "tail_sampling_processor_from_env",
]
