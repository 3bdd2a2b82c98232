"""OpenTelemetry traces of hone's runs, following the GenAI semantic conventions.

hone depends only on ``opentelemetry-api``; install an SDK and exporter (``pip install
'hone[otel]'``) and set a tracer provider to see spans, for example in Phoenix or Langfuse over
OTLP (docs/observability.md). Without a provider nothing is recorded and the hooks cost one
provider lookup per graph run, model call or tool call.

What is traced:

* graph runs (``invoke_workflow {graph}``) and their tasks (one span per node run, named by
  the node); a subgraph nests under the node that runs it;
* model calls (``chat {model}``): ``gen_ai.operation.name``, ``gen_ai.provider.name``,
  ``gen_ai.request.model`` and sampling settings, ``gen_ai.response.model``,
  ``gen_ai.response.finish_reasons``, ``gen_ai.usage.input_tokens`` / ``output_tokens``;
* tool calls (``execute_tool {tool}``: ``gen_ai.tool.name``, ``gen_ai.tool.call.id``);
* hone.agents guardrails (``apply_guardrail {guardrail}``), handoffs and team members
  (``invoke_agent {agent}``);
* rollouts, the episode each recorded model call belongs to (``hone.episode.id``), rewards
  (``gen_ai.evaluation.result`` events) and the policy version (:func:`policy_version`).

Message content (prompts, replies, tool arguments and results) is recorded only when asked
for: :func:`configure_tracing` ``(capture_content=True)`` or
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true``.
"""

from hone.observability._config import configure_tracing
from hone.observability._spans import policy_version

__all__ = ["configure_tracing", "policy_version"]
