"""Fixed text of the exported script: its docstring and its training loop / entry point.

`HEADER` is formatted with name, needs, pip, weights and file; `MAIN` is pasted verbatim after
the model, the settings and the copied engine code (see script.py).
"""

def section(title: str) -> str:
    """A section comment of the script, 79 columns wide."""
    return f"# {title} ".ljust(79, "-") + "\n\n"

HEADER = '''"""{name}: a model exported from Studio, with its data loading and training loop.

Needs only {needs} (pip install {pip}).

    python {file}                 train, then evaluate on the test split
    python {file} --epochs 5 --device cpu
    python {file} {weights} --predict x.npy
    torchrun --nproc_per_node 4 {file}    data-parallel training (DDP)

--weights loads trained weights (the .safetensors file Studio saves beside the project, the
file of a run, or a state dict from --save); with --predict it skips training and prints the
model's predictions for the inputs in a .npy file (raw values, normalized here like the
training data).
"""
from __future__ import annotations

'''


MAIN = '''

# Training --------------------------------------------------------------------


def to_tensors(split):
    """A split as (inputs, [one prepared target per output]) on the CPU."""
    x = torch.as_tensor(np.ascontiguousarray(split.x))
    x = x.long() if INPUT_DTYPE == "long" else x.float()
    if RBM_ATTR is not None:
        return x, [torch.as_tensor(split.y[0]).float() if split.y else x]
    return x, [prepare_target(loss, y, shape) for loss, y, shape in zip(LOSSES, split.y, OUT_SHAPES)]


def batches(x, ys, order, batch_size, rank=0, world=1):
    """Batches of rows of `order` (None: in stored order); with DDP, this rank's shard."""
    if order is None:
        for i in range(0, len(x), batch_size):
            yield x[i:i + batch_size], [y[i:i + batch_size] for y in ys]
        return
    order = order.to(x.device)
    for idx in order.split(batch_size):
        if world > 1:
            idx = idx[rank::world]
        yield x[idx], [y[idx] for y in ys]


def as_tuple(outs):
    return outs if isinstance(outs, tuple) else (outs,)


def penalty_terms(model):
    return [(kind, coef, [p for n, p in getattr(model, attr).named_parameters() if "bias" not in n])
            for kind, coef, attr in PENALTIES]


def epoch_metrics(outs, tgts):
    result = {}
    for i, (out, tgt) in enumerate(zip(outs, tgts)):
        if not len(out):
            continue
        values = compute(METRICS, LOSSES[i], out, tgt, CONFIG["top_k"])
        prefix = f"{OUTPUT_NAMES[i]}_" if len(OUTPUT_NAMES) > 1 else ""
        result.update({prefix + k: v for k, v in values.items()})
    return result


def evaluate(model, x, ys, terms):
    """Loss and metrics of `model` on a whole split (eval mode, no gradients)."""
    was = model.training
    model.eval()
    loss_sum, seen = 0.0, 0
    outs_acc, tgts_acc = [[] for _ in OUTPUT_NAMES], [[] for _ in OUTPUT_NAMES]
    fns = [loss_fn(name) if name != "cd" else None for name in LOSSES]
    rbm = getattr(model, RBM_ATTR) if RBM_ATTR is not None else None
    with torch.no_grad():
        for xb, yb in batches(x, ys, None, max(CONFIG["batch_size"], 256)):
            if rbm is not None:
                loss, outs = reconstruction_error(rbm, xb, yb[0] if yb else xb)
                outs = (outs,)
            else:
                outs = as_tuple(model(xb))
                loss = 0.0
                for fn, w, out, y in zip(fns, LOSS_WEIGHTS, outs, yb):
                    loss = loss + w * fn(out.float(), y)
            loss_sum += float(loss) * len(xb)
            seen += len(xb)
            for i, o in enumerate(outs):
                outs_acc[i].append(o.float())
                tgts_acc[i].append(yb[i] if i < len(yb) else xb)
        pen = penalty(terms) if terms else None
    model.train(was)
    result = {"loss": loss_sum / max(seen, 1) + (float(pen) if pen is not None else 0.0)}
    result.update(epoch_metrics([torch.cat(o) if o else torch.empty(0) for o in outs_acc],
                                [torch.cat(t) if t else torch.empty(0) for t in tgts_acc]))
    return result


def train_step(net, model, optimizer, params, terms, fns, xb, yb):
    """One optimizer step; returns (loss value, outputs)."""
    if RBM_ATTR is not None:
        surrogate, recon = cd_loss(getattr(model, RBM_ATTR), xb, CONFIG["cd_k"])
        loss, value, outs = surrogate, None, ()
        if terms:
            loss = loss + penalty(terms)
        value = recon.item()
    else:
        outs = as_tuple(net(xb))
        loss = None
        for fn, w, out, y in zip(fns, LOSS_WEIGHTS, outs, yb):
            term = fn(out, y)
            term = term if w == 1.0 else w * term
            loss = term if loss is None else loss + term
        if terms:
            loss = loss + penalty(terms)
        value = loss.item()
    if not math.isfinite(value):
        raise FloatingPointError(f"the loss became {value}: lower the learning rate")
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    clip = CONFIG["grad_clip"]
    if clip["value"] is not None:
        torch.nn.utils.clip_grad_value_(params, clip["value"])
    if clip["norm"] is not None:
        torch.nn.utils.clip_grad_norm_(params, clip["norm"])
    optimizer.step()
    return value, outs


def better(value, best):
    es = CONFIG["early_stopping"] or {}
    delta = es.get("min_delta", 0.0)
    if best is None or not math.isfinite(best):
        return math.isfinite(value)
    if MONITOR.endswith(("loss", "mse", "mae", "rmse")):
        return value < best - delta
    return value > best + delta


def fit(model, data, device, epochs, rank, world, log):
    """Train `model` (already on `device`) with Studio's protocol; returns the history."""
    train_x, train_ys = data["train"]
    val = data.get("val")
    for attr in FROZEN:
        for p in getattr(model, attr).parameters():
            p.requires_grad_(False)
    params = [p for p in model.parameters() if p.requires_grad]
    opt_cfg = CONFIG["optimizer"]
    optimizer = build_optimizer(params, opt_cfg)
    steps = math.ceil(len(train_x) / CONFIG["batch_size"])
    schedule = Schedule(CONFIG["schedule"], opt_cfg["lr"], epochs, steps)
    terms = penalty_terms(model)
    net = model
    if world > 1:
        net = nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None)
    fns = [loss_fn(name) if name != "cd" else None for name in LOSSES]
    keep = bool(METRICS) and RBM_ATTR is None
    gen = torch.Generator().manual_seed(CONFIG["seed"])
    current_lr, global_step, history = opt_cfg["lr"], 0, []
    best, best_state, bad_epochs = None, None, 0
    for epoch in range(epochs):
        perm = torch.randperm(len(train_x), generator=gen)
        net.train()
        loss_sum, seen = 0.0, 0
        outs_acc, tgts_acc = [[] for _ in OUTPUT_NAMES], [[] for _ in OUTPUT_NAMES]
        for xb, yb in batches(train_x, train_ys, perm, CONFIG["batch_size"], rank, world):
            lr = schedule.lr_at(epoch, global_step)
            if lr != current_lr:
                for group in optimizer.param_groups:
                    group["lr"] = lr
                current_lr = lr
            value, outs = train_step(net, model, optimizer, params, terms, fns, xb, yb)
            global_step += 1
            loss_sum += value * len(xb)
            seen += len(xb)
            if keep:
                for i, o in enumerate(outs):
                    outs_acc[i].append(o.detach())
                    tgts_acc[i].append(yb[i])
        if world > 1:
            total = torch.tensor([loss_sum, float(seen)], dtype=torch.float64, device=device)
            torch.distributed.all_reduce(total)
            loss_sum, seen = float(total[0]), int(total[1])
        row = {"epoch": epoch + 1, "loss": loss_sum / max(seen, 1)}
        if keep:
            row.update(epoch_metrics([torch.cat(o) for o in outs_acc],
                                     [torch.cat(t) for t in tgts_acc]))
        if val is not None:
            row.update({f"val_{k}": v for k, v in evaluate(model, *val, terms).items()})
        row["lr"] = current_lr
        schedule.end_epoch(row.get("val_loss", row["loss"]))
        history.append(row)
        log(row)
        if better(row[MONITOR], best):
            best, bad_epochs = row[MONITOR], 0
            es = CONFIG["early_stopping"]
            if es and es["restore_best"]:
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            bad_epochs += 1
        es = CONFIG["early_stopping"]
        if es and bad_epochs > es["patience"]:
            log({"early_stopping": epoch + 1})
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    return history


# Weights, prediction, entry point --------------------------------------------


def read_safetensors(path):
    """{name: tensor} from a .safetensors file (the format is a JSON header + raw data)."""
    dtypes = {"F32": np.float32, "F64": np.float64, "F16": np.float16, "I64": np.int64,
              "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}
    with open(path, "rb") as f:
        raw = f.read()
    (size,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + size])
    data = memoryview(raw)[8 + size:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        arr = np.frombuffer(data[start:end], dtype=dtypes[info["dtype"]]).reshape(info["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out


def load_weights(model, path):
    """Load Studio's per-node weights ('node_id/tensor'), a state dict in safetensors, or a
    state dict saved with --save (read with weights_only=True)."""
    if str(path).endswith(".safetensors"):
        tensors = read_safetensors(path)
    else:
        tensors = torch.load(path, map_location="cpu", weights_only=True)
    state = {}
    for key, value in tensors.items():
        node, sep, tensor = key.partition("/")
        state[f"{NODE_ATTRS.get(node, node)}.{tensor}" if sep else key] = value
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected:
        raise SystemExit(f"{path}: tensors {unexpected[:3]} match no layer of this model")
    return missing


def predict(model, data, path, device):
    """Print the model's predictions for the raw inputs in a .npy file."""
    x = np.load(path, allow_pickle=False)
    x = x.reshape((len(x), *INPUT_SHAPE))
    x = normalize_inputs(x, data["stats"]) if INPUT_DTYPE == "float" else x.astype(np.int64)
    x = torch.as_tensor(x).to(device)
    x = x.long() if INPUT_DTYPE == "long" else x.float()
    model.eval()
    with torch.no_grad():
        outs = as_tuple(model(x))
    for k, (name, loss, out) in enumerate(zip(OUTPUT_NAMES, LOSSES, outs)):
        classes = CLASS_NAMES[k] if k < len(CLASS_NAMES) else None
        print(f"{name}:")
        if loss in ("cross_entropy", "bce_with_logits", "bce", "hinge"):
            for i, p in enumerate(predictions(loss, out.cpu()).reshape(len(out), -1).tolist()):
                label = [classes[j] if classes and loss == "cross_entropy" else j for j in p]
                print(f"  {i}: {label[0] if len(label) == 1 else label}")
        else:
            for i, row in enumerate(out.cpu().reshape(len(out), -1).tolist()):
                print(f"  {i}: {[round(v, 6) for v in row]}")


def load_data(device):
    splits = prepare(load_raw(DATASET), DATASET, INPUT_SHAPE, INPUT_DTYPE)
    data = {"stats": splits.normalization}
    for name in ("train", "val", "test"):
        split = getattr(splits, name)
        if split is not None and len(split):
            x, ys = to_tensors(split)
            data[name] = (x.to(device), [y.to(device) for y in ys])
    return data


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=CONFIG["epochs"])
    parser.add_argument("--device", default=CONFIG["device"], help="auto, cpu, cuda, cuda:N")
    parser.add_argument("--weights", help="weights to load (.safetensors or --save output)")
    parser.add_argument("--predict", metavar="X.npy", help="print predictions for these inputs")
    parser.add_argument("--save", metavar="PATH", help="save the trained state dict here")
    parser.add_argument("--history", metavar="PATH", help="write the epochs as JSON lines")
    args = parser.parse_args(argv)

    device = torch.device(args.device if args.device != "auto" else
                          ("cuda" if torch.cuda.is_available() else "cpu"))
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = 0
    if world > 1:
        if device.type == "cuda":
            device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}")
            torch.cuda.set_device(device)
        torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")
        rank, world = torch.distributed.get_rank(), torch.distributed.get_world_size()

    data = load_data(device)
    torch.manual_seed(CONFIG["seed"])  # right before the model is built, as in Studio
    model = Model().to(device)
    if args.weights:
        load_weights(model, args.weights)
    history_file = open(args.history, "w") if args.history and rank == 0 else None  # noqa: SIM115

    def log(row):
        if rank == 0:
            print("  ".join(f"{k} {v:.6g}" if isinstance(v, float) else f"{k} {v}"
                            for k, v in row.items() if not isinstance(v, list)), flush=True)
            if history_file is not None:
                history_file.write(json.dumps(row) + "\\n")
                history_file.flush()

    if not (args.predict and args.weights) and args.epochs > 0:
        fit(model, data, device, args.epochs, rank, world, log)
    if rank == 0:
        if args.predict:
            predict(model, data, args.predict, device)
        elif "test" in data:
            terms = penalty_terms(model)
            log({"test_" + k: v for k, v in evaluate(model, *data["test"], terms).items()})
        if args.save:
            torch.save(model.state_dict(), args.save)
    if history_file is not None:
        history_file.close()
    if world > 1:
        torch.distributed.barrier()  # let rank 0 finish evaluating before the group goes away
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main()
'''
