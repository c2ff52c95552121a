"""The apply order for a new environment, and where a stack stands in it.

Phase 1 creates the ClickHouse service and the base AWS infrastructure. Phase 2 (BYOC stacks) is the handoff document
for ClickHouse. Phase 3 needs facts only ClickHouse can supply (the NLB DNS name, and with IRSA the EKS OIDC issuer);
once they are in the stack config, a second `up` creates the clickhouse.<domain> record (and with IRSA the pods'
role). The phase is read from
the stack's config and outputs, so no one has to remember it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, Mapping

from scripts.handoff import customer_side_complete

NS = "clickhouse-aws"
BYOC_ENABLED = f"{NS}:byocEnabled"
OIDC_ISSUER = f"{NS}:byocOidcIssuerUrl"
NLB_DNS = f"{NS}:byocNlbDnsName"
POD_ACCESS = f"{NS}:byocPodAccess"


class State(str, Enum):
    NEEDS_UP = "needs-up"
    WAITING_FOR_CLICKHOUSE = "waiting-for-clickhouse"
    NEEDS_SECOND_UP = "needs-second-up"
    COMPLETE = "complete"


@dataclass(frozen=True)
class Phase:
    number: int
    title: str
    status: str


@dataclass(frozen=True)
class PhaseStatus:
    stack: str
    state: State
    byoc: bool
    phases: tuple[Phase, ...]
    next_step: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": self.state.value,
            "byoc": self.byoc,
            "phases": [{"number": p.number, "title": p.title, "status": p.status} for p in self.phases],
            "next": self.next_step,
        }


TITLES = (
    "ClickHouse service and base AWS infrastructure (up)",
    "BYOC handoff document for ClickHouse",
    "After ClickHouse creates EKS and the NLB: set clickhouse-aws:byocNlbDnsName (and with IRSA "
    "clickhouse-aws:byocOidcIssuerUrl), then up again (clickhouse.<domain> record, the IRSA pod role)",
)

# Status of phases 1, 2 and 3 in each state; BYOC-only phases read "n/a" on other stacks.
_STATUSES: dict[State, tuple[str, str, str]] = {
    State.NEEDS_UP: ("next", "to do", "to do"),
    State.WAITING_FOR_CLICKHOUSE: ("done", "ready: send the document", "waiting for ClickHouse"),
    State.NEEDS_SECOND_UP: ("done", "done", "next"),
    State.COMPLETE: ("done", "done", "done"),
}


def config_flag(config: Mapping[str, str], key: str) -> bool:
    return str(config.get(key, "")).strip().lower() == "true"


def _bootstrap_command(stack: str, protected: bool) -> str:
    yes = " --yes" if protected else ""
    return f"python -m scripts.stack bootstrap --stack {stack}{yes}"


def _awaited_facts(config: Mapping[str, str]) -> tuple[str, ...]:
    """The keys ClickHouse's phase-3 facts go in: the OIDC issuer only matters to IRSA (Pod Identity is the default)."""
    irsa = str(config.get(POD_ACCESS, "")).strip() == "irsa"
    return (OIDC_ISSUER, NLB_DNS) if irsa else (NLB_DNS,)


def _state(config: Mapping[str, str], outputs: Mapping[str, Any], byoc: bool) -> State:
    if not outputs or (byoc and "byoc" not in outputs):
        return State.NEEDS_UP
    if not byoc:
        return State.COMPLETE
    if not all(config.get(key) for key in _awaited_facts(config)):
        return State.WAITING_FOR_CLICKHOUSE
    return State.COMPLETE if customer_side_complete(outputs["byoc"]) else State.NEEDS_SECOND_UP


def _next_step(stack: str, state: State, config: Mapping[str, str], protected: bool) -> str:
    if state is State.NEEDS_UP:
        return f"Run phase 1: `{_bootstrap_command(stack, protected)}`."
    if state is State.NEEDS_SECOND_UP:
        return (f"Run phase 3: `{_bootstrap_command(stack, protected)}` (creates the clickhouse.<domain> record, and "
                "with IRSA the pods' role).")
    if state is State.COMPLETE:
        return "Nothing to do: every phase is applied."
    missing = [key for key in _awaited_facts(config) if not config.get(key)]
    sets = "\n".join(
        f"  pulumi config set {key} <{'issuer-url' if key == OIDC_ISSUER else 'nlb-dns-name'}> --stack {stack}"
        for key in missing
    )
    return (
        f"Send handoff.{stack}.md to ClickHouse (`python -m scripts.stack handoff --stack {stack} -o "
        f"handoff.{stack}.md`). When ClickHouse reports EKS and the NLB ready, set what it sends back and run "
        f"phase 3:\n{sets}\n  {_bootstrap_command(stack, protected)}"
    )


def detect_phase(
    stack: str, config: Mapping[str, str], outputs: Mapping[str, Any], *, protected: bool,
) -> PhaseStatus:
    """Where ``stack`` stands, from its config (plain values) and its outputs (empty before the first up); the next
    step's command carries --yes when the stack is ``protected`` (``settings.is_protected``)."""
    byoc = config_flag(config, BYOC_ENABLED)
    state = _state(config, outputs, byoc)
    statuses = _STATUSES[state]
    phases = tuple(
        Phase(number, title, status if byoc or number == 1 else "n/a")
        for number, (title, status) in enumerate(zip(TITLES, statuses), start=1)
    )
    return PhaseStatus(stack=stack, state=state, byoc=byoc, phases=phases,
                       next_step=_next_step(stack, state, config, protected))


def describe(status: PhaseStatus) -> str:
    """The phase list with each phase's status, and what to do next."""
    lines = [f"Apply order for stack '{status.stack}':"]
    lines += [f"  [{p.status}] {p.number}. {p.title}" for p in status.phases]
    lines.append(f"Next: {status.next_step}")
    return "\n".join(lines)
