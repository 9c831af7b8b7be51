"""Golden losses and gradients for `tests/it/golden.rs`, computed by the methods' official
PyTorch code on fixed inputs.

    python tests/golden/official_losses.py \
        --eac PATH/Erasing-Attention-Consistency --lnsu PATH/Mine-Extra-Knowledge \
        --scn PATH/Self-Cure-Network \
        --commits "EAC 61efdfd, Mine-Extra-Knowledge 2ec823d, Self-Cure-Network 9f4c3ad" \
        > tests/golden/official_losses.json

Needs torch (CPU is enough) and numpy. The official files are read and the definitions the losses use
are taken out by name and executed as written: their modules also import cv2, timm and the
training scripts' arguments, which the loss code does not touch. Each model's forward runs on
a stub whose feature extractor passes the given feature maps through, so the classifier, the
class activation maps (with the official detaching), the flip, the losses and autograd are
the official code's and PyTorch's own.

Inputs are waves, x[i] = scale * sin(a * i + b) over the flat index (float64, then float32),
which the Rust test rebuilds from the same numbers.
"""

import argparse
import ast
import json
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd import Variable

# Gradients are compared at these many evenly spread entries, plus their sum and |sum|.
SAMPLES = 16


def definitions(path, names):
    """The top-level classes and functions `names` of the file at `path`, executed."""
    with open(path) as f:
        source = f.read()
    tree = ast.parse(source)
    wanted = [n for n in tree.body if getattr(n, "name", None) in names]
    missing = set(names) - {n.name for n in wanted}
    if missing:
        raise SystemExit(f"{path}: no definition of {sorted(missing)}")
    namespace = {"torch": torch, "nn": nn, "F": F, "Variable": Variable}
    module = ast.Module(body=wanted, type_ignores=[])
    exec(compile(module, path, "exec"), namespace)
    return namespace, source


def wave(shape, a, b, scale=1.0):
    i = torch.arange(math.prod(shape), dtype=torch.float64)
    return (scale * torch.sin(a * i + b)).to(torch.float32).reshape(shape)


def wave_spec(name, shape, a, b, scale=1.0):
    return {"name": name, "shape": list(shape), "a": a, "b": b, "scale": scale}


def summary(t):
    flat = t.detach().reshape(-1).to(torch.float64)
    step = max(1, flat.numel() // SAMPLES)
    at = [k * step for k in range(SAMPLES) if k * step < flat.numel()]
    return {
        "sum": flat.sum().item(),
        "abs_sum": flat.abs().sum().item(),
        "at": at,
        "values": [flat[k].item() for k in at],
    }


def eac_case(repo, n=3, channels=2048, side=7, lam=5.0):
    """EAC (`src/model.py` Model.forward, `src/loss.py` ACLoss, `src/utils.py`
    generate_flip_grid; loss as `src/main.py` train(): CE + lam * ACLoss, lam = 5)."""
    model_ns, _ = definitions(os.path.join(repo, "src/model.py"), ["Model"])
    loss_ns, _ = definitions(os.path.join(repo, "src/loss.py"), ["ACLoss"])
    util_ns, _ = definitions(os.path.join(repo, "src/utils.py"), ["generate_flip_grid"])
    Model = model_ns["Model"]
    model = Model.__new__(Model)
    nn.Module.__init__(model)
    model.features = nn.Identity()
    model.features2 = nn.AvgPool2d(side, stride=1)  # the official ResNet's avgpool
    model.fc = nn.Linear(channels, 7)
    specs = [
        wave_spec("fmap", (n, channels, side, side), 0.37, 0.1),
        wave_spec("fmap_flipped_view", (n, channels, side, side), 0.29, 1.3),
        wave_spec("fc_weight", (7, channels), 0.53, 0.7, 0.05),
        wave_spec("fc_bias", (7,), 1.1, 0.2, 0.1),
    ]
    fmap, fmap2, weight, bias = [wave(s["shape"], s["a"], s["b"], s["scale"]) for s in specs]
    with torch.no_grad():
        model.fc.weight.copy_(weight)
        model.fc.bias.copy_(bias)
    fmap.requires_grad_(True)
    fmap2.requires_grad_(True)
    labels = torch.tensor([0, 3, 6])
    output, hm1 = model(fmap)
    _, hm2 = model(fmap2)
    grid = util_ns["generate_flip_grid"](side, side, "cpu")
    ce = nn.CrossEntropyLoss()(output, labels)
    flip = loss_ns["ACLoss"](hm1, hm2, grid, output)
    loss = ce + lam * flip
    loss.backward()
    return {
        "method": "eac",
        "inputs": specs,
        "labels": labels.tolist(),
        "lambda": lam,
        # Named as ferlab's loss terms.
        "terms": {"ce": ce.item(), "flip_consistency": (lam * flip).item()},
        "loss": loss.item(),
        "grad": {
            "fmap": summary(fmap.grad),
            "fmap_flipped_view": summary(fmap2.grad),
            "fc_weight": summary(model.fc.weight.grad),
            "fc_bias": summary(model.fc.bias.grad),
        },
    }


def lnsu_case(repo, n=3, channels=768, side=7):
    """LNSU (`code/expression/models.py` SwinTransFER.forward; `code/train_exp.py` ACLoss,
    generate_flip_grid, LSR2 and the loss of main(): LSR2(0.3) + 0.1 * mean of the
    class-weighted per-class flip errors)."""
    model_ns, _ = definitions(os.path.join(repo, "code/expression/models.py"), ["SwinTransFER"])
    train_path = os.path.join(repo, "code/train_exp.py")
    ns, source = definitions(train_path, ["ACLoss", "generate_flip_grid", "LSR2"])
    # main()'s balance_weight, the same constants LSR2 spreads its smoothing mass by.
    start = source.index("balance_weight = torch.tensor(", source.index("def main("))
    start = source.index("[", start)
    balance = ast.literal_eval(source[start : source.index("]", start) + 1])

    class Encoder(nn.Module):
        def forward_features(self, x):
            return x

    Swin = model_ns["SwinTransFER"]
    model = Swin(Encoder(), swin_num_features=channels, num_classes=7, cam=True)
    model.norm = nn.Identity()  # the feature maps given are the normalised tokens
    specs = [
        wave_spec("fmap", (n, channels, side, side), 0.41, 0.3),
        wave_spec("fmap_flipped_view", (n, channels, side, side), 0.23, 2.1),
        wave_spec("fc_weight", (7, channels), 0.61, 0.4, 0.05),
        wave_spec("fc_bias", (7,), 0.9, 0.5, 0.1),
    ]
    fmap, fmap2, weight, bias = [wave(s["shape"], s["a"], s["b"], s["scale"]) for s in specs]
    with torch.no_grad():
        model.head.weight.copy_(weight)
        model.head.bias.copy_(bias)
    fmap.requires_grad_(True)
    fmap2.requires_grad_(True)

    def tokens(f):  # N×C×H×W → N×L×C, as the encoder hands them over
        return f.reshape(n, channels, side * side).transpose(1, 2)

    labels = torch.tensor([0, 3, 6])
    output, hm = model(tokens(fmap))
    _, hm1 = model(tokens(fmap2))
    grid_l = ns["generate_flip_grid"](side, side)
    flip_loss = ns["ACLoss"](hm, hm1, grid_l, output)
    flip_loss = flip_loss.mean(dim=-1).mean(dim=-1)
    balance_weight = torch.tensor(balance).view(7, 1)
    flip_loss = torch.mm(flip_loss, balance_weight).squeeze()
    smooth = ns["LSR2"](0.3)(output, labels)
    attention = 0.1 * flip_loss.mean()
    loss = smooth + attention
    loss.backward()
    return {
        "method": "lnsu",
        "inputs": specs,
        "labels": labels.tolist(),
        # RAF-DB's training counts in its label order, which give the constants at 0.1·N/n_c.
        "class_counts": [1290, 281, 717, 4772, 1982, 705, 2524],
        "balance_weight": balance,
        "terms": {
            "rebalanced_smooth": smooth.item(),
            "rebalanced_attention": attention.item(),
        },
        "loss": loss.item(),
        "grad": {
            "fmap": summary(fmap.grad),
            "fmap_flipped_view": summary(fmap2.grad),
            "fc_weight": summary(model.head.weight.grad),
            "fc_bias": summary(model.head.bias.grad),
        },
    }


def loop_body(function, iterating):
    """The statements of the `for` loop in `function` (an ast.FunctionDef) that iterates
    over `enumerate(<iterating>)`."""
    for node in ast.walk(function):
        if isinstance(node, ast.For) and iterating in ast.unparse(node.iter):
            return node.body
    raise SystemExit(f"{function.name}: no loop over {iterating}")


def scn_case(repo, n=8, dim=512, relabel_epoch=10):
    """SCN (`src/train.py`: Res18Feature.forward and one pass of run_training()'s batch loop,
    its statements executed as written — rank regularisation, the logit-weighted CE, the
    backward pass, relabelling into the data set's label array — on an epoch that relabels)."""
    import numpy as np

    path = os.path.join(repo, "src/train.py")
    ns, source = definitions(path, ["Res18Feature", "run_training"])
    run_training = next(
        n for n in ast.parse(source).body if getattr(n, "name", None) == "run_training"
    )
    body = loop_body(run_training, "train_loader")
    Res18Feature = ns["Res18Feature"]
    model = Res18Feature.__new__(Res18Feature)
    nn.Module.__init__(model)
    model.drop_rate = 0
    model.features = nn.Identity()  # the given features are what the pooling hands over
    model.fc = nn.Linear(dim, 7)
    model.alpha = nn.Sequential(nn.Linear(dim, 1), nn.Sigmoid())
    specs = [
        wave_spec("features", (n, dim), 0.47, 0.9),
        wave_spec("fc_weight", (7, dim), 0.31, 0.2, 4.0),
        wave_spec("fc_bias", (7,), 0.7, 1.0, 0.1),
        # Small importance weights keep the importances close, so the rank term is active.
        wave_spec("attention_weight", (1, dim), 0.83, 0.6, 0.01),
        wave_spec("attention_bias", (1,), 0.5, 0.5, 0.1),
    ]
    x, fw, fb, aw, ab = [wave(s["shape"], s["a"], s["b"], s["scale"]) for s in specs]
    with torch.no_grad():
        model.fc.weight.copy_(fw)
        model.fc.bias.copy_(fb)
        model.alpha[0].weight.copy_(aw)
        model.alpha[0].bias.copy_(ab)
    x.requires_grad_(True)
    # Half agree with the prediction, half not: some relabel, some stay.
    labels = [4, 0, 6, 2, 0, 5, 1, 3]
    first_index = 10
    dataset_labels = np.array([0] * first_index + labels + [0, 0])

    class Stub:
        pass

    train_loader = Stub()
    train_loader.dataset = Stub()
    train_loader.dataset.label = dataset_labels
    optimizer = Stub()
    optimizer.zero_grad = lambda: None
    optimizer.step = lambda: None
    args = argparse.Namespace(relabel_epoch=relabel_epoch)
    torch.Tensor.cuda = lambda self, *a, **k: self  # the official loop moves tensors to a GPU
    scope = {
        **ns,
        "np": np,
        "imgs": x.view(n, dim, 1, 1),
        "targets": torch.tensor(labels),
        "indexes": torch.arange(first_index, first_index + n),
        "batch_i": 0,
        "iter_cnt": 0,
        "running_loss": 0.0,
        "correct_sum": 0,
        "beta": 0.7,
        "margin_1": 0.15,
        "margin_2": 0.2,
        "i": relabel_epoch,
        "args": args,
        "res18": model,
        "criterion": torch.nn.CrossEntropyLoss(),
        "optimizer": optimizer,
        "train_loader": train_loader,
    }
    exec(compile(ast.Module(body=body, type_ignores=[]), path, "exec"), scope)
    outputs = scope["outputs"]
    rr = scope["RR_loss"]
    rr = rr.item() if torch.is_tensor(rr) else float(rr)
    relabelled = {
        str(first_index + k): int(dataset_labels[first_index + k])
        for k in range(n)
        if dataset_labels[first_index + k] != labels[k]
    }
    return {
        "method": "scn",
        "inputs": specs,
        "labels": labels,
        "first_index": first_index,
        "relabel_epoch": relabel_epoch,
        "terms": {
            "weighted_ce": torch.nn.CrossEntropyLoss()(outputs, torch.tensor(labels)).item(),
            "rank_reg": rr,
        },
        "loss": scope["loss"].item(),
        "relabelled": relabelled,
        "grad": {
            "features": summary(x.grad),
            "fc_weight": summary(model.fc.weight.grad),
            "fc_bias": summary(model.fc.bias.grad),
            "attention_weight": summary(model.alpha[0].weight.grad),
            "attention_bias": summary(model.alpha[0].bias.grad),
        },
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--eac", required=True, help="a checkout of zyh-uaiaaaa/Erasing-Attention-Consistency")
    p.add_argument("--lnsu", required=True, help="a checkout of zyh-uaiaaaa/Mine-Extra-Knowledge")
    p.add_argument("--scn", required=True, help="a checkout of kaiwang960112/Self-Cure-Network")
    p.add_argument("--commits", default="", help="the checkouts' commits, recorded in the output")
    args = p.parse_args()
    cases = [eac_case(args.eac), lnsu_case(args.lnsu), scn_case(args.scn)]
    out = {
        "generated_by": "tests/golden/official_losses.py",
        "torch": torch.__version__,
        "official_commits": args.commits,
        "cases": cases,
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
