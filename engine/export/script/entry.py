"""The script's entry point: `--weights` (Studio's safetensors, read without the safetensors
package, or a --save file), `--predict`, and `main()` with torchrun's process group."""
from __future__ import annotations

from .plan import Plan
from .text import block, function, lit, wrapped


def weights_code(plan: Plan) -> list[str]:
    layers = [f"{lit(nid)}: {lit(attr)}" for nid, attr in plan.tensor_nodes.items()
              if nid != attr]
    body = ['if not path.endswith(".safetensors"):',
            ('    return model.load_state_dict(torch.load(path, map_location="cpu", '
            'weights_only=True))'),
            "raw = Path(path).read_bytes()  # 8 bytes of header size, a JSON header, the data",
            'size = int.from_bytes(raw[:8], "little")',
            *wrapped("layers = {", layers, "}  # Studio's node ids", 0, outer=1),
            ('dtypes = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", '
            '"U8": "u1"}'),
            "state = {}",
            "for key, info in json.loads(raw[8:8 + size]).items():",
            '    if key != "__metadata__":',
            '        count, start = math.prod(info["shape"]), 8 + size + info["data_offsets"][0]',
            '        array = np.frombuffer(raw, dtypes[info["dtype"]], count, start)',
            '        node, _, name = key.partition("/")',
            '        key = f"{layers.get(node, node)}.{name}" if name else key',
            '        state[key] = torch.from_numpy(array.reshape(info["shape"]).copy())',
            "return model.load_state_dict(state, strict=False)  # layers without: as built"]
    return function("load_weights(model, path)", "Studio's weights (.safetensors keyed 'node "
                    "id/tensor') or a --save state dict.", body)


def predict_code(plan: Plan) -> list[str]:
    rbm = plan.rbm is not None
    if not plan.multi:
        lines = ["model.eval()", *_print_output(plan.outputs[0], "model(inputs)", rbm)]
    else:
        lines = ["model.eval()", f"{', '.join(o.var for o in plan.outputs)} = model(inputs)"]
        for o in plan.outputs:
            lines += [f"print({lit(o.name + ':')})", *_print_output(o, o.var, rbm)]
    return function("predict(model, inputs)", "Print the model's prediction for each input.",
                    lines, "@torch.no_grad()")


def _print_output(o, out: str, rbm: bool) -> list[str]:
    classes = o.classes if o.classes and o.classes != [str(i) for i in range(len(o.classes))] \
        else None
    rows = f"{out}.flatten(1)" if o.shape else f"{out}.reshape(-1, 1)"
    if rbm or o.loss in ("mse", "mae", "huber"):
        return [f"for i, row in enumerate({rows}.tolist()):",
                '    print(f"  {i}: {[round(v, 6) for v in row]}")']
    if o.loss == "cross_entropy" or o.long_target:
        if classes and len(o.shape) == 1:
            return [*wrapped("classes = [", [lit(c) for c in classes], "]"),
                    f"for i, label in enumerate({out}.argmax(1).tolist()):",
                    '    print(f"  {i}: {classes[label]}")']
        return [f"for i, label in enumerate({out}.argmax(1).tolist()):",
                '    print(f"  {i}: {label}")']
    threshold = 0.5 if o.loss == "bce" else 0
    return [f"for i, row in enumerate(({rows} > {threshold}).long().tolist()):",
            '    print(f"  {i}: {row[0] if len(row) == 1 else row}")']


def main_code(plan: Plan) -> list[str]:
    cfg, d = plan.cfg, plan.data
    shape = ", ".join(map(str, plan.input_shape))
    from .data import normalize_code

    prepare = normalize_code(plan, "inputs")
    targets = "[t.to(device) for t in y]" if plan.multi else "y.to(device)"
    body = block('''
        parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
        parser.add_argument("--epochs", type=int, default={epochs})
        parser.add_argument("--device", default={device}, help="auto, cpu, cuda or cuda:N")
        parser.add_argument("--weights", help="start from these weights (.safetensors or --save)")
        parser.add_argument("--predict", metavar="X.npy", help="print predictions for these inputs")
        parser.add_argument("--save", metavar="FILE", help="save the trained weights (state dict)")
        parser.add_argument("--history", metavar="FILE", help="write each epoch as a JSON line")
        parser.add_argument("--threads", type=int, help="torch threads (default: free cores)")
        args = parser.parse_args(argv)
        if args.threads or "OMP_NUM_THREADS" not in os.environ:  # else the user's setting
            busy = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0  # other programs
            cores = (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")  # ours
                     else os.cpu_count() or 1)
            torch.set_num_threads(args.threads or max(1, round(cores - busy)))
        device = torch.device(args.device if args.device != "auto" else
                              "cuda" if torch.cuda.is_available() else "cpu")
        rank, world = 0, int(os.environ.get("WORLD_SIZE", "1"))  # set by torchrun
        if world > 1:
            if device.type == "cuda":
                device = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
                torch.cuda.set_device(device)
            torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")
            rank = torch.distributed.get_rank()
        {load} = load_data()
        data = {{name: ({inputs}, {targets}) for name, (x, y) in splits.items()}}
        torch.manual_seed({seed})  # as in Studio: the same initial weights
        model = {cls}().to(device)
        if args.weights:
            load_weights(model, args.weights)
        history = open(args.history, "w") if args.history and rank == 0 else None  # noqa: SIM115

        def log(row):
            if rank == 0:
                print("  ".join(f"{{k}} {{v:.6g}}" if isinstance(v, float) else f"{{k}} {{v}}"
                                for k, v in row.items()), flush=True)
                if history:
                    print(json.dumps(row), file=history, flush=True)

        if not (args.predict and args.weights):
            train(model, data, args.epochs, log, rank, world)
        if rank == 0 and args.predict:
            inputs = np.load(args.predict, allow_pickle=False).reshape(-1, {shape})
            predict(model, torch.as_tensor({prepare}).to(device))
        ''', epochs=cfg["epochs"], device=lit(cfg["device"]),
                 load="splits, (offset, scale)" if d.normalize else "splits", targets=targets,
                 seed=cfg["seed"], cls=plan.class_name, prepare=prepare, shape=shape,
                 inputs="Streamed(x, args.workers, device)" if d.streamed else "x.to(device)")
    at = next(i for i, ln in enumerate(body) if ln.startswith("data = {"))
    if len(body[at]) > 96:
        head, _, tail = body[at].partition(" for name, ")
        body[at:at + 1] = [head, f"        for name, {tail}"]
    if d.streamed:
        at = body.index("args = parser.parse_args(argv)")
        body[at:at] = [(f"parser.add_argument(\"--workers\", type=int, "
                        f"default={cfg['num_workers']}, help=\"data loading processes\")")]
    if d.augment and d.normalize and not d.streamed:
        at = next(i for i, ln in enumerate(body) if ln.startswith("splits, (offset, scale)"))
        body.insert(at + 2 + (not body[at + 1].endswith("}")), "data[\"normalization\"] = torch.as_tensor(offset).to(device), "
                            "torch.as_tensor(scale).to(device)")
    if d.has_test:
        body += ['elif rank == 0:',
                 '    log({f"test_{k}": v for k, v in evaluate(model, *data["test"]).items()})']
    body += block('''
        if rank == 0 and args.save:
            torch.save(model.state_dict(), args.save)
        if world > 1:
            torch.distributed.barrier()  # rank 0 may still be evaluating
            torch.distributed.destroy_process_group()
        ''')
    return ["def main(argv=None):", *["    " + ln if ln else ln for ln in body]]
