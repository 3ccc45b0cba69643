"""A GAN in the exported script: engine/train/gan.py's adversarial recipe written out.

The model class is the whole graph (its weights are the app's); `Generator` and
`Discriminator` are views of it: the layers before and after its Generated node, shared, not
copied, each with the forward the app compiles for that part. Each batch of real samples is
one discriminator step, every k-th also one generator step, with optimisers of their own; the
reported loss is the discriminator's, the evaluation loss D's on real samples against the
fixed noise's (seed + 1). Penalties, clipping and schedules are not part of the recipe.
"""
from __future__ import annotations

from dataclasses import dataclass

from ...codegen import generate
from ...gan import discriminator_graph, generator_graph
from ...validate import validate
from ..common import ExportError
from .recipes import Recipe, _finite
from .text import block, lit
from .training import optimizer_code

FIXED_NOISE = 64   # engine/train/gan.py: the per-epoch sample grid's noise batch


@dataclass
class GanPlan:
    noise_shape: tuple[int, ...]
    data_shape: tuple[int, ...]      # the real samples' (the Generated node's output)
    loss: str                        # 'bce' | 'hinge'
    d_steps: int
    g_lr: float
    d_lr: float
    smoothing: float
    views: list[list[str]]           # the Generator and Discriminator classes


def gan_plan(graph, node, model_class: str, whole_attrs: dict) -> GanPlan:
    """The GAN's settings (its Generated `node`) and its two parts as views of the model."""
    p = node.params
    report = validate(graph)
    noise = next(n for n in graph.nodes.values() if n.spec.role == "input")
    views = [_view("Generator", generator_graph(graph), model_class, whole_attrs,
                   "layers before its Generated node: noise -> samples"),
             _view("Discriminator", discriminator_graph(graph), model_class, whole_attrs,
                   "layers after its Generated node: samples -> a real-or-fake logit")]
    return GanPlan(tuple(noise.params["shape"]), tuple(report.out_types[node.id][0].shape),
                   p["loss"], int(p["d_steps"]), float(p["g_lr"]), float(p["d_lr"]),
                   float(p["label_smoothing"]), views)


def _view(name: str, part, model_class: str, whole_attrs: dict, what: str) -> list[str]:
    """class `name`: `model`'s layers of `part` (by node id) and the part's compiled forward."""
    from .reflow import reflow

    code = generate(part, validate(part), class_name=name)
    lines = code.source.splitlines()
    start = max(i for i, ln in enumerate(lines) if ln.startswith("    def forward("))
    shared = [f"        self.{attr} = model.{whole_attrs[nid]}"
              for nid, attr in code.attrs.items() if nid in whole_attrs]
    head = [f"class {name}(nn.Module):",
            f'    """The {model_class} model\'s {what} (shared, not copied)."""', "",
            "    def __init__(self, model):", "        super().__init__()", *shared, ""]
    return reflow("\n".join(head + lines[start:])).splitlines()


class Adversarial(Recipe):
    """k discriminator steps per generator step (engine/train/gan.py)."""

    ddp = False
    uses_targets = False

    @staticmethod
    def applies(plan) -> bool:
        return plan.gan is not None

    def helpers(self, plan) -> list[list[str]]:
        g = plan.gan
        if g.loss == "hinge":
            losses = [block('''
                def d_loss(real_logit, fake_logit):
                    """The discriminator's hinge loss."""
                    return F.relu(1 - real_logit).mean() + F.relu(1 + fake_logit).mean()
                '''), block('''
                def g_loss(fake_logit):
                    """The generator's hinge loss."""
                    return -fake_logit.mean()
                ''')]
        else:
            losses = [block(f'''
                def d_loss(real_logit, fake_logit):
                    """Real samples against the target 1 - {g.smoothing:g} (one-sided label smoothing),
                    generated ones against 0."""
                    real = torch.full_like(real_logit, {lit(1.0 - g.smoothing)})
                    fake = torch.zeros_like(fake_logit)
                    return (F.binary_cross_entropy_with_logits(real_logit, real)
                            + F.binary_cross_entropy_with_logits(fake_logit, fake))
                '''), block('''
                def g_loss(fake_logit):
                    """The non-saturating generator loss: generated samples against the target 1."""
                    real = torch.ones_like(fake_logit)
                    return F.binary_cross_entropy_with_logits(fake_logit, real)
                ''')]
        shape = ", ".join(map(str, g.noise_shape))
        seed = plan.cfg["seed"] + 1
        fixed = block(f'''
            def fixed_noise(device):
                """The noise of Studio's per-epoch sample grid (its own generator, seed {seed})."""
                generator = torch.Generator().manual_seed({seed})
                return torch.randn({FIXED_NOISE}, {shape}, generator=generator).to(device)
            ''')
        return [*g.views, *losses, fixed]

    def optimizers(self, plan) -> list[str]:
        g, opt = plan.gan, plan.cfg["optimizer"]
        every = "each" if g.d_steps == 1 else f"every {g.d_steps}th"
        return ["g_net, d_net = Generator(model), Discriminator(model)",
                "g_params = [p for p in g_net.parameters() if p.requires_grad]",
                "d_params = [p for p in d_net.parameters() if p.requires_grad]",
                f"g_optimizer = {optimizer_code({**opt, 'lr': g.g_lr}, 'g_params')}",
                f"d_optimizer = {optimizer_code({**opt, 'lr': g.d_lr}, 'd_params')}",
                f"steps = 0  # discriminator steps so far: {every} is followed by a G step"]

    def batch(self, plan) -> list[str]:
        return ["xb = x[batch]"]

    def step(self, plan) -> list[str]:
        shape = ", ".join(map(str, plan.gan.noise_shape))
        return [f"fake = g_net(torch.randn(len(xb), {shape}, device=xb.device))",
                "real_logit, fake_logit = d_net(xb), d_net(fake.detach())",
                "loss = d_loss(real_logit, fake_logit)"]

    def update(self, plan, clipping: list[str]) -> list[str]:
        shape = ", ".join(map(str, plan.gan.noise_shape))
        return ["d_optimizer.zero_grad()", "loss.backward()", "d_optimizer.step()",
                "value = loss.item()", "steps += 1",
                f"if steps % {plan.gan.d_steps} == 0:",
                f"    fake = g_net(torch.randn(len(xb), {shape}, device=xb.device))",
                "    loss = g_loss(d_net(fake))",
                "    g_optimizer.zero_grad()", "    loss.backward()", "    g_optimizer.step()",
                *_finite("value")]

    def eval_batch(self, plan) -> list[str]:
        return ["d_net = Discriminator(model)",
                "fake = Generator(model)(fixed_noise(xb.device)[:len(xb)])",
                "total += d_loss(d_net(xb), d_net(fake)).item() * len(xb)"]


def check(cfg: dict) -> None:
    """The settings the app's GAN recipe does not use, refused rather than ignored."""
    if cfg["schedule"]["name"] != "constant" or cfg["schedule"]["warmup_epochs"]:
        raise ExportError("a GAN trains at the fixed rates of its Generated node (g_lr, d_lr): "
                          "set training.schedule to none to export its training script")
