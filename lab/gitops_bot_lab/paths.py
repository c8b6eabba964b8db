"""Where the lab's data lives: in the package, so installed wheels run the demos too.

`data/agents-gitops`, `data/policies` and `data/monitoring` are links to the repository's own
`manifests/agents-gitops`, `policies`, `manifests/monitoring` and `manifests/argo` (one copy in git); building the wheel
copies what they point at.
"""

from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
CAPTURES = DATA / "captures"  # real Alertmanager webhook bodies
EXAMPLE_TREE = DATA / "agents-gitops"
POLICIES = DATA / "policies"
AGENT_RULES = DATA / "monitoring" / "agent-rules.yaml"
ARGO_TEMPLATE = DATA / "argo" / "workflowtemplate.yaml"  # the shipped Argo WorkflowTemplate
