"""Recipes: what one training batch does in the exported script, and the helpers it needs.
Supervised: the weighted losses of the Output nodes (engine Trainer.train_step); contrastive
divergence: CD-k on the RBM node (Trainer.rbm_step, engine/train/rbm.py). A new recipe (a
VAE's KL term, a GAN's two optimizers) is a Recipe subclass added to RECIPES."""
from __future__ import annotations

from .plan import Plan
from .text import block
from .training import loss_code, optimizer_code
from .transfer import groups_code


class Recipe:
    """The parts of the training loop a recipe writes; `x`, `y`, `batch`, `model`, `net`,
    `optimizer`, `rank` and `world` are in scope. `step` leaves the loss to backpropagate in
    `loss`, its reported value in `value` and (when metrics are kept) the outputs in `out`."""

    ddp = True             # the model is wrapped in DistributedDataParallel under torchrun
    uses_targets = True    # the training step reads the targets `y`

    @staticmethod
    def applies(plan: Plan) -> bool:
        raise NotImplementedError

    def helpers(self, plan: Plan) -> list[list[str]]:
        """Top-level definitions the recipe's lines call."""
        return []

    def optimizers(self, plan: Plan) -> list[str]:
        if plan.transfer.groups:
            return [*groups_code(plan.transfer, plan.cfg["optimizer"]["lr"]),
                    f"optimizer = {optimizer_code(plan.cfg['optimizer'], 'groups')}"]
        params = "[p for p in model.parameters() if p.requires_grad]" if plan.frozen \
            else "model.parameters()"
        return [f"optimizer = {optimizer_code(plan.cfg['optimizer'], params)}"]

    def batch(self, plan: Plan) -> list[str]:
        y = "[t[batch] for t in y]" if plan.multi else "y[batch]"
        return [f"yb = {y}"] if plan.data.streamed else [f"xb, yb = x[batch], {y}"]

    def step(self, plan: Plan) -> list[str]:
        raise NotImplementedError

    def update(self, plan: Plan, clipping: list[str]) -> list[str]:
        return ["optimizer.zero_grad()", "loss.backward()", *clipping, "optimizer.step()"]

    def eval_batch(self, plan: Plan) -> list[str]:
        """Adds the batch's loss times its size to `total` (and sets `out` for metrics)."""
        raise NotImplementedError


class Supervised(Recipe):
    """Forward through the (DDP-wrapped) model, the weighted losses of the outputs."""

    @staticmethod
    def applies(plan: Plan) -> bool:
        return plan.rbm is None and plan.gan is None

    def helpers(self, plan: Plan) -> list[list[str]]:
        return loss_code(plan)

    def step(self, plan: Plan) -> list[str]:
        penalty = " + penalty(model)" if plan.penalties else ""
        return ["out = net(xb)", f"loss = loss_fn(out, yb){kl_sum(plan)}{penalty}",
                "value = loss.item()", *_finite("value")]

    def eval_batch(self, plan: Plan) -> list[str]:
        loss = f"(loss_fn(out, yb){kl_sum(plan)})" if plan.kl else "loss_fn(out, yb)"
        return ["out = model(xb)", f"total += {loss}.item() * len(xb)"]


def kl_sum(plan: Plan) -> str:
    """' + model.z.kl': the β·KL terms the Sampling modules stored in the last forward
    (engine/train/vae.py adds them, summed, before any L1/L2 penalty)."""
    terms = [f"model.{a}.kl" for a in plan.kl]
    if len(terms) < 2:
        return "".join(f" + {t}" for t in terms)
    return f" + ({' + '.join(terms)})"


class ContrastiveDivergence(Recipe):
    """CD-k on the RBM node; the reported loss is the reconstruction error."""

    ddp = False          # CD-k does not call the model's forward
    uses_targets = False

    @staticmethod
    def applies(plan: Plan) -> bool:
        return plan.rbm is not None

    def helpers(self, plan: Plan) -> list[list[str]]:
        return CD_HELPERS

    def batch(self, plan: Plan) -> list[str]:
        return ["xb = x[batch]"]

    def step(self, plan: Plan) -> list[str]:
        attr, k = plan.rbm
        penalty = ["loss = loss + penalty(model)"] if plan.penalties else []
        return [f"loss, error = cd_loss(model.{attr}, xb, k={k})", *penalty,
                "value = error.item()", *_finite("value", "loss.item()")]

    def update(self, plan: Plan, clipping: list[str]) -> list[str]:
        return ["optimizer.zero_grad()", "loss.backward()", *block("""
            if world > 1:  # CD-k bypasses DDP's forward: average the gradients here
                for p in model.parameters():
                    if p.grad is not None:
                        torch.distributed.all_reduce(p.grad)
                        p.grad /= world
            """), *clipping, "optimizer.step()"]

    def eval_batch(self, plan: Plan) -> list[str]:
        return [f"total += reconstruction_error(model.{plan.rbm[0]}, xb, yb).item() * len(xb)"]


CD_HELPERS = [block('''
    def cd_loss(rbm, x, k):
        """Contrastive divergence CD-k: (the loss whose gradient is the CD update, the mean
        reconstruction error). Entries < 0 are unrated: held at 0 and not counted."""
        rated = x >= 0
        v0 = torch.where(rated, x, torch.zeros_like(x))
        with torch.no_grad():  # the negative phase: k Gibbs steps from the data
            _, h = rbm.sample_h(v0)
            v = v0
            for _ in range(k):
                _, v = rbm.sample_v(h)
                v = torch.where(rated, v, torch.zeros_like(v))
                _, h = rbm.sample_h(v)
        loss = rbm.free_energy(v0).mean() - rbm.free_energy(v).mean()
        return loss, masked_error(v, v0, rated)
    '''), block('''
    def masked_error(pred, target, mask):
        """Mean |pred - target| over the entries where `mask` is true."""
        error = torch.where(mask, (pred - target).abs(), torch.zeros_like(pred))
        return error.sum() / mask.sum().clamp(min=1)
    '''), block('''
    def reconstruction_error(rbm, x, target):
        """Mean |target - p(v | p(h | x))| over the entries rated in `target`."""
        return masked_error(rbm(torch.where(x >= 0, x, torch.zeros_like(x))), target, target >= 0)
    ''')]


RECIPES: list[type[Recipe]] = [ContrastiveDivergence, Supervised]


def recipe(plan: Plan) -> Recipe:
    """The recipe that trains `plan`'s project (the first that applies; a GAN's: gan.py)."""
    from .gan import Adversarial

    return next(r for r in [Adversarial, *RECIPES] if r.applies(plan))()


def _finite(*values: str) -> list[str]:
    test = " or ".join(f"not math.isfinite({v})" for v in values)
    return [f"if {test}:",
            '    raise FloatingPointError(f"the loss became {value}: lower the learning rate")']
