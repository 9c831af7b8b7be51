#!/usr/bin/env python3
"""PyTorch reference for `ferlab bench`: the same architectures, batch sizes and thread
count, driven by ferlab over stdin/stdout so that both run interleaved in one invocation.

Protocol: one JSON request per line on stdin, one JSON reply per line on stdout.
  {"kind": "model", "model": "small_cnn"|"resnet18"|"face_resnet", "mode": "train"|"eval",
   "batch": 64, "size": 48, "channels": 1, "warmup": 2, "iters": 5, "max_secs": 6}
  {"kind": "conv", "n":.., "c":.., "h":.., "w":.., "oc":.., "k":.., "stride":.., "pad":..,
   "warmup": 2, "iters": 5}
  -> {"times": [seconds per iteration...]} or {"times_fwd": [...], "times_bwd": [...]}
The first line written is {"ready": true, "torch": VERSION, "threads": N}.
"""
import argparse
import json
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class SmallCnn(nn.Module):
    """ferlab's small CNN: 4 stages (w, 2w, 4w, 8w) of conv3x3-BN-ReLU, 2x2 max pooling
    after the first three, global average pooling, linear head."""

    def __init__(self, in_ch=1, width=32, convs_per_stage=1, classes=7):
        super().__init__()
        layers = []
        cin = in_ch
        for s in range(4):
            cout = width << s
            for _ in range(convs_per_stage):
                layers += [nn.Conv2d(cin, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
                cin = cout
            if s < 3:
                layers.append(nn.MaxPool2d(2, 2))
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        return self.fc(self.features(x).mean((2, 3)))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        skip = x if self.downsample is None else self.downsample(x)
        return F.relu(h + skip)


class ResNet18(nn.Module):
    """torchvision's ResNet-18 layout (written out, so torchvision is not needed)."""

    def __init__(self, in_ch=3, classes=7):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        blocks = []
        cin = 64
        for i, cout in enumerate([64, 128, 256, 512]):
            stride = 1 if i == 0 else 2
            blocks += [BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)]
            cin = cout
        self.layers = nn.Sequential(*blocks)
        self.fc = nn.Linear(512, classes)

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        return self.fc(self.layers(h).mean((2, 3)))


class ScaledConv(nn.Module):
    """A convolution with bias, then dlib's per-channel scale folded into it: a plain
    biased convolution (ferlab's default `model.scale_affine = "folded"`)."""

    def __init__(self, cin, cout, k, stride, pad):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, pad, bias=True)

    def forward(self, x):
        return self.conv(x)


class FaceResidual(nn.Module):
    def __init__(self, cin, cout, down):
        super().__init__()
        self.down = down
        self.conv1 = ScaledConv(cin, cout, 3, 2 if down else 1, 0 if down else 1)
        self.conv2 = ScaledConv(cout, cout, 3, 1, 1)

    def forward(self, x):
        h = self.conv2(F.relu(self.conv1(x)))
        if not self.down:
            return F.relu(h + x)
        pooled = F.avg_pool2d(x, 2, 2)
        dh, dw = pooled.shape[2] - h.shape[2], pooled.shape[3] - h.shape[3]
        h = F.pad(h, (0, dw, 0, dh))
        pooled = F.pad(pooled, (0, 0, 0, 0, 0, h.shape[1] - pooled.shape[1]))
        return F.relu(h + pooled)


class FaceResNet(nn.Module):
    """dlib's face recognition ResNet as ferlab's `face_resnet` (7x7/2 valid conv, 3x3/2
    max pool, residual blocks of 32-256 channels with 'valid' down blocks, global average
    pooling, a new linear head on the 256 pooled features)."""

    BLOCKS = [(32, False)] * 3 + [(64, True)] + [(64, False)] * 3 + [(128, True)] + \
        [(128, False)] * 2 + [(256, True)] + [(256, False)] * 2 + [(256, True)]

    def __init__(self, in_ch=3, classes=7):
        super().__init__()
        self.stem = ScaledConv(in_ch, 32, 7, 2, 0)
        blocks, cin = [], 32
        for cout, down in self.BLOCKS:
            blocks.append(FaceResidual(cin, cout, down))
            cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(256, classes)

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.stem(x)), 3, 2)
        return self.fc(self.blocks(h).mean((2, 3)))


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(fn, warmup, iters, max_secs, device):
    for _ in range(warmup):
        fn()
    sync(device)
    times = []
    start = time.perf_counter()
    while len(times) < iters and (len(times) < 2 or time.perf_counter() - start < max_secs):
        t = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - t)
    return times


MODELS = {}


def model_case(req, device):
    key = (req["model"], req["channels"])
    if key not in MODELS:
        torch.manual_seed(0)
        m = {"small_cnn": SmallCnn, "resnet18": ResNet18, "face_resnet": FaceResNet}[req["model"]](req["channels"])
        m = m.to(device)
        opt = torch.optim.AdamW(m.parameters(), lr=1e-3, weight_decay=1e-4)
        MODELS[key] = (m, opt)
    m, opt = MODELS[key]
    b, s, c = req["batch"], req["size"], req["channels"]
    x = torch.randn(b, c, s, s, device=device)
    y = torch.randint(0, 7, (b,), device=device)
    if req["mode"] == "train":
        m.train()

        def step():
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(m(x), y)
            loss.backward()
            opt.step()
    else:
        m.eval()

        def step():
            with torch.inference_mode():
                m(x)
    return {"times": timed(step, req["warmup"], req["iters"], req["max_secs"], device)}


def conv_case(req, device):
    x = torch.randn(req["n"], req["c"], req["h"], req["w"], device=device, requires_grad=True)
    w = torch.randn(req["oc"], req["c"], req["k"], req["k"], device=device, requires_grad=True)
    y = F.conv2d(x, w, stride=req["stride"], padding=req["pad"])
    g = torch.randn_like(y)

    def fwd():
        with torch.no_grad():
            F.conv2d(x, w, stride=req["stride"], padding=req["pad"])

    def bwd():
        out = F.conv2d(x, w, stride=req["stride"], padding=req["pad"])
        torch.autograd.grad(out, (x, w), g)

    def bwd_w():
        out = F.conv2d(x, w, stride=req["stride"], padding=req["pad"])
        torch.autograd.grad(out, (w,), g)

    fwd_t = timed(fwd, req["warmup"], req["iters"], req.get("max_secs", 3), device)
    both_t = timed(bwd, req["warmup"], req["iters"], req.get("max_secs", 3), device)
    w_t = timed(bwd_w, req["warmup"], req["iters"], req.get("max_secs", 3), device)
    f = sorted(fwd_t)[len(fwd_t) // 2]
    # backward alone = (forward + backward) - forward
    return {"times_fwd": fwd_t, "times_bwd": [max(t - f, 1e-9) for t in both_t],
            "times_bwd_w": [max(t - f, 1e-9) for t in w_t]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    device = torch.device(args.device)
    try:
        isa = torch.backends.cpu.get_cpu_capability()
    except AttributeError:
        isa = "unknown"
    print(json.dumps({"ready": True, "torch": torch.__version__, "threads": torch.get_num_threads(),
                      "isa": isa}), flush=True)
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        req = json.loads(line)
        if req["kind"] == "memory":
            # This process's peak resident memory so far (KiB on Linux).
            print(json.dumps({"peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}), flush=True)
            continue
        try:
            reply = model_case(req, device) if req["kind"] == "model" else conv_case(req, device)
        except Exception as e:  # reported to ferlab, which prints it
            reply = {"error": repr(e)}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
