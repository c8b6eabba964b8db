"""Loading RollbackPolicy documents from a folder of YAML files."""

from pathlib import Path

import yaml

from gitops_bot.core.errors import PolicyError
from gitops_bot.core.policy import Policy, parse_policy


def check_policies(directory: Path) -> tuple[tuple[Policy, ...], list[str]]:
    """Every policy in the folder (files sorted by name) and every problem, with file and document."""
    if not directory.is_dir():
        return (), [f"{directory}: not a directory of policy files"]
    files = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    if not files:
        return (), [f"{directory}: no *.yaml policy files"]
    policies: list[Policy] = []
    problems: list[str] = []
    for file in files:
        try:
            docs = list(yaml.safe_load_all(file.read_text(encoding="utf-8")))
        except (OSError, yaml.YAMLError) as e:
            problems.append(f"{file}: cannot parse: {e}")
            continue
        for index, doc in enumerate(docs):
            if doc is None:
                continue
            policy, errs = parse_policy(doc, where=f"{file} (document {index + 1})")
            problems.extend(errs)
            if policy is not None:
                policies.append(policy)
    seen: dict[str, str] = {}
    for p in policies:
        if p.name in seen:
            problems.append(f"{p.source}: metadata.name: {p.name!r} already defined in {seen[p.name]}")
        seen.setdefault(p.name, p.source)
    return tuple(policies), problems


def load_policies(directory: Path) -> tuple[Policy, ...]:
    """The folder's policies, or PolicyError listing every problem."""
    policies, problems = check_policies(directory)
    if problems:
        raise PolicyError("invalid policies:\n  " + "\n  ".join(problems))
    return policies
