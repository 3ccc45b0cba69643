"""Model parameters by node: frozen layers, L1/L2 penalties, gradient norms, init weights."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from ..guard.text import quote


def node_modules(model, graph) -> dict:
    """{node_id: submodule} for every node that owns a submodule."""
    attrs = model.studio_code.attrs
    return {nid: getattr(model, attr) for nid, attr in attrs.items() if nid in graph.nodes}


def node_parameters(model, graph) -> dict:
    """{node_id: [parameters]} for nodes with parameters."""
    out = {}
    for nid, module in node_modules(model, graph).items():
        params = list(module.parameters())
        if params:
            out[nid] = params
    return out


def freeze(model, graph) -> list[str]:
    """requires_grad=False for the parameters of nodes with trainable False; their ids."""
    frozen = []
    for nid, params in node_parameters(model, graph).items():
        if not graph.nodes[nid].trainable:
            for p in params:
                p.requires_grad_(False)
            frozen.append(nid)
    return frozen


def regularized_nodes(graph, reg: dict) -> list[tuple[str, float, str]]:
    """[(kind 'l1'|'l2', coefficient, node id)] of the non-zero penalties, set by node name.
    Raises ValueError naming an unknown name, or one that several nodes share (the penalty
    would land on whichever came last)."""
    by_name: dict[str, list[str]] = {}
    for nid, node in graph.nodes.items():
        by_name.setdefault(node.name, []).append(nid)
    out = []
    for kind in ("l1", "l2"):
        for name, coef in reg.get(kind, {}).items():
            if not coef:
                continue
            ids = by_name.get(name, [])
            if not ids:
                raise ValueError(f"training.regularization.{kind}: no node named {quote(name)}")
            if len(ids) > 1:
                raise ValueError(f"training.regularization.{kind}: {len(ids)} nodes are named "
                                 f"{quote(name)}; rename all but one (penalties are set by "
                                 "node name)")
            out.append((kind, float(coef), ids[0]))
    return out


def penalty_terms(model, graph, reg: dict) -> list[tuple[str, float, list]]:
    """[(kind 'l1'|'l2', coefficient, weight tensors)] by node name (weights, not biases:
    like Keras' kernel_regularizer). Raises ValueError naming an unknown node."""
    params = node_parameters(model, graph)
    modules = node_modules(model, graph)
    terms = []
    for kind, coef, nid in regularized_nodes(graph, reg):
        if nid not in params:
            raise ValueError(f"training.regularization.{kind}: node "
                             f"{quote(graph.nodes[nid].name)} has no weights")
        weights = [p for n, p in modules[nid].named_parameters() if "bias" not in n]
        terms.append((kind, coef, weights))
    return terms


def penalty(terms):
    """The L1/L2 penalty: Σ l1·Σ|w| + Σ l2·Σ w² (no factor ½, as Keras)."""
    total = None
    for kind, coef, weights in terms:
        for w in weights:
            t = w.abs().sum() if kind == "l1" else w.pow(2).sum()
            total = coef * t if total is None else total + coef * t
    return total


def grad_norms(node_params: dict) -> dict[str, float]:
    """L2 norm of each node's gradients: one norm per tensor in a single fused call and one
    device sync for all of them (not two ops and a sync per node, on every batch event)."""
    import torch

    owners, grads = [], []
    for nid, params in node_params.items():
        for p in params:
            if p.grad is not None:
                owners.append(nid)
                grads.append(p.grad if p.grad.dtype == torch.float32 else p.grad.float())
    if not grads:
        return {}
    with torch.no_grad():
        values = torch.stack(torch._foreach_norm(grads)).tolist()
    squares: dict[str, float] = {}
    for nid, v in zip(owners, values):
        squares[nid] = squares.get(nid, 0.0) + v * v
    return {nid: math.sqrt(sq) for nid, sq in squares.items()}


@dataclass
class InitReport:
    """What --init-weights loaded: tensors copied, and the ones skipped with the reason."""

    loaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = f"loaded {len(self.loaded)} tensor(s)"
        if self.skipped:
            text += f"; skipped {len(self.skipped)}: " + "; ".join(self.skipped)
        return text


def read_state_file(path: str | Path) -> dict:
    """A flat {name: tensor} dict from a .safetensors file or a torch.save zip archive
    (loaded with weights_only=True: nothing is unpickled beyond plain tensors). Only a regular
    file within the memory budget is read, and the sizes it declares (safetensors header, zip
    directory) are checked before anything is unpacked. Raises ValueError or
    FileNotFoundError naming the file."""
    import zipfile

    import torch

    from ..guard.files import (
        NotRegularFile,
        TooLarge,
        check_declared,
        memory_budget_mb,
        open_regular,
        safetensors_declared_bytes,
        zip_declared_bytes,
    )

    path = Path(path)
    what = f"init weights {quote(str(path))}"
    budget = memory_budget_mb() * 2**20
    try:
        f = open_regular(path, budget, what)
    except FileNotFoundError:
        raise FileNotFoundError(f"init weights: {path} does not exist") from None
    except (NotRegularFile, TooLarge) as exc:
        raise ValueError(str(exc)) from None
    with f:
        head = f.read(8)
        f.seek(0)
        try:
            if head.startswith(b"PK"):
                with zipfile.ZipFile(f) as zf:
                    check_declared(zip_declared_bytes(zf), budget, f"{what} (unpacked)")
                f.seek(0)
                state = torch.load(f, map_location="cpu", weights_only=True)
            elif path.suffix == ".safetensors" or head[:1] not in (b"\x80", b""):
                data = f.read()
                check_declared(safetensors_declared_bytes(data, what), budget, what)
                from safetensors.torch import load

                return load(data)
            else:
                raise ValueError(f"{what} is an old-style torch.save file; save it again with "
                                 "a current PyTorch (a zip archive) or as .safetensors")
        except TooLarge as exc:
            raise ValueError(str(exc)) from None
        except ValueError as exc:
            if str(exc).startswith(what):
                raise
            raise ValueError(f"{what} is not a weights-only state dict "
                             f"({str(exc).splitlines()[0][:200]})") from None
        except Exception as exc:  # noqa: BLE001 - safetensors/unpickling refusals vary
            raise ValueError(f"{what} is not a valid weights-only state dict or safetensors "
                             f"file ({str(exc).splitlines()[0][:200] if str(exc) else exc!r})"
                             ) from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ValueError(  # noqa: TRY004 - a bad file, reported like the others
            f"{what} holds a {type(state).__name__}, not a state dict")
    return {k: v for k, v in state.items() if torch.is_tensor(v)}


def load_init_weights(model, graph, path: str | Path) -> InitReport:
    """Copy matching tensors from `path` into `model`: keys 'node_id/tensor' (Studio's
    format), 'attr.tensor' (a state dict of this model) or 'node name.tensor'. Tensors whose
    shape differs are skipped and named; nothing matching at all raises ValueError."""
    import torch

    flat = read_state_file(path)
    attrs = model.studio_code.attrs
    by_name = {node.name: nid for nid, node in graph.nodes.items()}
    state = model.state_dict()
    report, update = InitReport(), {}
    for key, value in flat.items():
        target = _target_key(key, attrs, by_name)
        if target is None or target not in state:
            report.skipped.append(f"{quote(key)} matches no layer")
            continue
        if tuple(value.shape) != tuple(state[target].shape):
            report.skipped.append(f"{quote(target)} has shape {tuple(state[target].shape)} but the "
                                  f"file's {quote(key)} is {tuple(value.shape)}")
            continue
        if value.is_floating_point() and not torch.isfinite(value).all():
            raise ValueError(f"init weights {quote(str(path))}: tensor {quote(key)} contains "
                             "NaN or infinite values")
        update[target] = value.to(state[target].dtype)
        report.loaded.append(target)
    if not update:
        raise ValueError(f"init weights: no tensor in {path} matches a layer of this model "
                         f"({'; '.join(report.skipped[:3])})")
    with torch.no_grad():
        model.load_state_dict(update, strict=False)
    return report


def _target_key(key: str, attrs: dict, by_name: dict) -> str | None:
    if "/" in key:
        nid, _, tensor = key.partition("/")
        attr = attrs.get(nid) or attrs.get(by_name.get(nid, ""))
        return f"{attr}.{tensor}" if attr else None
    key = key.removeprefix("module.")  # DDP-wrapped checkpoints
    head, _, tensor = key.partition(".")
    if head in attrs.values():
        return key
    nid = by_name.get(head)
    if nid in attrs:
        return f"{attrs[nid]}.{tensor}"
    return None
