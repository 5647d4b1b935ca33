"""PyTorch side of scripts/bench-train.ts: a CIFAR ResNet-32 (or, 224 px, ResNet-10 / ResNet-50 /
ResNeXt-50 32x4d as torchvision builds them) training
step (SGD momentum).

Protocol (one JSON line per reply on stdout):
  started with: python3 bench-train.py --threads T --batch B [--model resnet32|resnet10|resnet50|resnext50]
  prints {"ready": true, "torch": "<version>", "threads": T} once the model is built,
  then for every stdin line "run N" performs N training steps and prints
  {"times": [ms, ...], "peakRssMB": x}; "quit" exits.
The network mirrors the tfjs one in bench-train.ts: 3x3 convs without bias (padding 1), batch norm,
ReLU, option-A shortcuts (stride-2 subsampling + zero channel padding), global average pool,
linear head, cross-entropy, SGD(momentum=0.9, weight_decay=5e-4).
"""
import argparse
import json
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Shortcut(nn.Module):
    def __init__(self, planes):
        super().__init__()
        self.pad = planes // 4

    def forward(self, x):
        return F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad))


class BasicBlock(nn.Module):
    def __init__(self, cin, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = Shortcut(planes) if stride != 1 or cin != planes else nn.Identity()

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNetCifar(nn.Module):
    def __init__(self, n=5, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        layers = []
        cin = 16
        for planes, stride in ((16, 1), (32, 2), (64, 2)):
            for i in range(n):
                layers.append(BasicBlock(cin, planes, stride if i == 0 else 1))
                cin = planes
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layers(out)
        out = F.adaptive_avg_pool2d(out, 1).flatten(1)
        return self.fc(out)


class ImageNetBasicBlock(nn.Module):
    """torchvision's BasicBlock (expansion 1) with its 1x1 conv + BN downsample."""

    expansion = 1

    def __init__(self, inplanes, planes, stride, groups=1, base_width=64):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.down = None
        if stride != 1 or inplanes != planes:
            self.down = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + (self.down(x) if self.down is not None else x))


class Bottleneck(nn.Module):
    """torchvision's Bottleneck, v1.5 (stride on the 3x3 conv); groups=32, base_width=4 is ResNeXt's."""

    expansion = 4

    def __init__(self, inplanes, planes, stride, groups=1, base_width=64):
        super().__init__()
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = nn.Conv2d(inplanes, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, groups=groups, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.down = None
        if stride != 1 or inplanes != planes * 4:
            self.down = nn.Sequential(nn.Conv2d(inplanes, planes * 4, 1, stride, bias=False), nn.BatchNorm2d(planes * 4))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return F.relu(out + (self.down(x) if self.down is not None else x))


class ImageNetResNet(nn.Module):
    """torchvision.models.ResNet (torchvision is not installed here): 7x7/2 stem, 3x3/2 max-pool,
    4 stages, global average pool, fc. ResNet-10 = (BasicBlock, [1,1,1,1]); ResNet-50 =
    (Bottleneck, [3,4,6,3]); ResNeXt-50 32x4d = (Bottleneck, [3,4,6,3], groups 32, width 4).
    Init as torchvision: kaiming_normal_(fan_out, relu) for convs, BN 1/0."""

    def __init__(self, block, layers, groups=1, base_width=64, num_classes=1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        blocks = []
        inplanes = 64
        for planes, n, stride in zip((64, 128, 256, 512), layers, (1, 2, 2, 2)):
            for i in range(n):
                blocks.append(block(inplanes, planes, stride if i == 0 else 1, groups, base_width))
                inplanes = planes * block.expansion
        self.layers = nn.Sequential(*blocks)
        self.fc = nn.Linear(inplanes, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        out = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        out = self.layers(out)
        return self.fc(F.adaptive_avg_pool2d(out, 1).flatten(1))


IMAGENET_MODELS = {
    "resnet10": lambda: ImageNetResNet(ImageNetBasicBlock, [1, 1, 1, 1]),
    "resnet50": lambda: ImageNetResNet(Bottleneck, [3, 4, 6, 3]),
    "resnext50": lambda: ImageNetResNet(Bottleneck, [3, 4, 6, 3], groups=32, base_width=4),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--model", default="resnet32")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if args.model == "resnet32":
        model, size, classes = ResNetCifar(n=5), 32, 10
    elif args.model in IMAGENET_MODELS:
        model, size, classes = IMAGENET_MODELS[args.model](), 224, 1000
    else:
        raise SystemExit(f"unknown model {args.model}")
    device = torch.device(args.device)
    model.to(device).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    x = torch.randn(args.batch, 3, size, size, device=device)
    y = torch.randint(0, classes, (args.batch,), device=device)
    bf16 = args.precision == "bf16"

    def step():
        opt.zero_grad(set_to_none=True)
        # autocast as the torch backend's setAutocast: the forward in bf16 where PyTorch's lists say so
        with torch.autocast(device_type=args.device, dtype=torch.bfloat16, enabled=bf16):
            loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()  # synchronises with the GPU, so the step is fully timed

    print(json.dumps({"ready": True, "torch": torch.__version__, "threads": torch.get_num_threads(), "device": str(device)}), flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if not cmd:
            continue
        if cmd[0] == "quit":
            break
        if cmd[0] == "run":
            times = []
            for _ in range(int(cmd[1])):
                t0 = time.perf_counter()
                step()
                times.append((time.perf_counter() - t0) * 1000.0)
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
            print(json.dumps({"times": times, "peakRssMB": rss}), flush=True)


if __name__ == "__main__":
    main()
