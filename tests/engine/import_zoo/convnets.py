"""Small convolutional networks written in the idioms of torchvision's model code (residual
blocks with `out += identity`, Sequential stages, Conv-BN-activation helpers, squeeze-and-
excitation, inverted residuals, stochastic depth, channel shuffle, concatenating dense blocks,
ceil_mode pools). Widths are narrow and inputs small so the tests stay fast."""
from __future__ import annotations

from functools import partial

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# -- shared building blocks (as torchvision.ops.misc) -------------------------------------------

class ConvNormAct(nn.Sequential):
    def __init__(self, c_in, c_out, k=3, stride=1, groups=1, norm=nn.BatchNorm2d, act=nn.ReLU,
                 padding=None, bias=None):
        padding = (k - 1) // 2 if padding is None else padding
        layers = [nn.Conv2d(c_in, c_out, k, stride, padding, groups=groups,
                            bias=norm is None if bias is None else bias)]
        if norm is not None:
            layers.append(norm(c_out))
        if act is not None:
            layers.append(act(inplace=True) if act in (nn.ReLU, nn.ReLU6, nn.SiLU,
                                                       nn.Hardswish) else act())
        super().__init__(*layers)


class SqueezeExcitation(nn.Module):
    def __init__(self, c, squeeze, act=nn.ReLU, scale_act=nn.Sigmoid):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(c, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, c, 1)
        self.activation = act()
        self.scale_activation = scale_act()

    def _scale(self, x: Tensor) -> Tensor:
        scale = self.avgpool(x)
        scale = self.fc1(scale)
        scale = self.activation(scale)
        scale = self.fc2(scale)
        return self.scale_activation(scale)

    def forward(self, x: Tensor) -> Tensor:
        scale = self._scale(x)
        return scale * x


def stochastic_depth(x: Tensor, p: float, mode: str, training: bool = True) -> Tensor:
    if not training or p == 0.0:
        return x
    keep = 1.0 - p
    shape = [x.shape[0]] + [1] * (x.ndim - 1) if mode == "row" else [1] * x.ndim
    noise = torch.empty(shape, dtype=x.dtype, device=x.device).bernoulli_(keep)
    return x * noise.div_(keep)


torch.fx.wrap("stochastic_depth")


class StochasticDepth(nn.Module):
    def __init__(self, p: float, mode: str) -> None:
        super().__init__()
        self.p = p
        self.mode = mode

    def forward(self, x: Tensor) -> Tensor:
        return stochastic_depth(x, self.p, self.mode, self.training)


# -- ResNet ---------------------------------------------------------------------------------------

class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        identity = x
        out = self.conv1(x)
        out = self.bn1(out)
        out = self.relu(out)
        out = self.conv2(out)
        out = self.bn2(out)
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        out = self.relu(out)
        return out


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, width_per_group=8):
        super().__init__()
        width = int(planes * (width_per_group / 8.0)) * groups
        self.conv1 = nn.Conv2d(inplanes, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, groups=groups, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, planes * self.expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class ResNet(nn.Module):
    def __init__(self, block, layers, num_classes=10, width=8, groups=1):
        super().__init__()
        self.inplanes = width
        self.groups = groups
        self.conv1 = nn.Conv2d(3, width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, width, layers[0])
        self.layer2 = self._make_layer(block, width * 2, layers[1], stride=2)
        self.layer3 = self._make_layer(block, width * 4, layers[2], stride=2)
        self.layer4 = self._make_layer(block, width * 8, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(width * 8 * block.expansion, num_classes)

    def _make_layer(self, block, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * block.expansion, 1, stride, bias=False),
                nn.BatchNorm2d(planes * block.expansion))
        kw = {"groups": self.groups} if block is Bottleneck else {}
        layers = [block(self.inplanes, planes, stride, downsample, **kw)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes, **kw) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def _forward_impl(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.fc(x)

    def forward(self, x: Tensor) -> Tensor:
        return self._forward_impl(x)


def resnet18():
    return ResNet(BasicBlock, [2, 2, 2, 2])


def resnet50():
    return ResNet(Bottleneck, [3, 4, 6, 3], width=4)


def resnext():
    return ResNet(Bottleneck, [1, 1, 1, 1], width=8, groups=2)


# -- VGG --------------------------------------------------------------------------------------------

class VGG(nn.Module):
    def __init__(self, cfg=(8, "M", 16, "M", 32, 32, "M"), num_classes=10, batch_norm=True,
                 hidden=64):
        super().__init__()
        layers, c = [], 3
        for v in cfg:
            if v == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                layers.append(nn.Conv2d(c, v, kernel_size=3, padding=1))
                if batch_norm:
                    layers.append(nn.BatchNorm2d(v))
                layers.append(nn.ReLU(inplace=True))
                c = v
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(c * 7 * 7, hidden), nn.ReLU(True), nn.Dropout(p=0.5),
            nn.Linear(hidden, hidden), nn.ReLU(True), nn.Dropout(p=0.5),
            nn.Linear(hidden, num_classes))

    def forward(self, x):
        x = self.features(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


# -- DenseNet -------------------------------------------------------------------------------------

class _DenseLayer(nn.Module):
    def __init__(self, c_in, growth, bn_size, drop_rate):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(c_in)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(c_in, bn_size * growth, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(bn_size * growth, growth, 3, padding=1, bias=False)
        self.drop_rate = float(drop_rate)

    def bn_function(self, inputs: list[Tensor]) -> Tensor:
        concated_features = torch.cat(inputs, 1)
        return self.conv1(self.relu1(self.norm1(concated_features)))

    def forward(self, input):
        prev_features = [input] if isinstance(input, Tensor) else input
        bottleneck_output = self.bn_function(prev_features)
        new_features = self.conv2(self.relu2(self.norm2(bottleneck_output)))
        if self.drop_rate > 0:
            new_features = F.dropout(new_features, p=self.drop_rate, training=self.training)
        return new_features


class _DenseBlock(nn.ModuleDict):
    def __init__(self, num_layers, c_in, bn_size, growth, drop_rate):
        super().__init__()
        for i in range(num_layers):
            self.add_module(f"denselayer{i + 1}",
                            _DenseLayer(c_in + i * growth, growth, bn_size, drop_rate))

    def forward(self, init_features):
        features = [init_features]
        for _name, layer in self.items():
            features.append(layer(features))
        return torch.cat(features, 1)


class _Transition(nn.Sequential):
    def __init__(self, c_in, c_out):
        super().__init__()
        self.norm = nn.BatchNorm2d(c_in)
        self.relu = nn.ReLU(inplace=True)
        self.conv = nn.Conv2d(c_in, c_out, 1, bias=False)
        self.pool = nn.AvgPool2d(kernel_size=2, stride=2)


class DenseNet(nn.Module):
    def __init__(self, growth=4, blocks=(2, 3), init=8, bn_size=2, drop_rate=0.1,
                 num_classes=10):
        super().__init__()
        self.features = nn.Sequential()
        self.features.add_module("conv0", nn.Conv2d(3, init, 7, 2, 3, bias=False))
        self.features.add_module("norm0", nn.BatchNorm2d(init))
        self.features.add_module("relu0", nn.ReLU(inplace=True))
        self.features.add_module("pool0", nn.MaxPool2d(3, 2, 1))
        c = init
        for i, n in enumerate(blocks):
            self.features.add_module(f"denseblock{i + 1}",
                                     _DenseBlock(n, c, bn_size, growth, drop_rate))
            c += n * growth
            if i != len(blocks) - 1:
                self.features.add_module(f"transition{i + 1}", _Transition(c, c // 2))
                c //= 2
        self.features.add_module("norm5", nn.BatchNorm2d(c))
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, x):
        features = self.features(x)
        out = F.relu(features, inplace=True)
        out = F.adaptive_avg_pool2d(out, (1, 1))
        out = torch.flatten(out, 1)
        return self.classifier(out)


# -- MobileNetV2 / V3 -------------------------------------------------------------------------------

class InvertedResidualV2(nn.Module):
    def __init__(self, c_in, c_out, stride, expand):
        super().__init__()
        hidden = c_in * expand
        self.use_res_connect = stride == 1 and c_in == c_out
        layers = []
        if expand != 1:
            layers.append(ConvNormAct(c_in, hidden, 1, act=nn.ReLU6))
        layers += [ConvNormAct(hidden, hidden, stride=stride, groups=hidden, act=nn.ReLU6),
                   nn.Conv2d(hidden, c_out, 1, bias=False), nn.BatchNorm2d(c_out)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        if self.use_res_connect:
            return x + self.conv(x)
        return self.conv(x)


class MobileNetV2(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        cfg = [(1, 8, 1, 1), (6, 12, 2, 2), (6, 16, 2, 2)]
        c = 8
        layers = [ConvNormAct(3, c, stride=2, act=nn.ReLU6)]
        for t, out, n, s in cfg:
            for i in range(n):
                layers.append(InvertedResidualV2(c, out, s if i == 0 else 1, t))
                c = out
        layers.append(ConvNormAct(c, 64, 1, act=nn.ReLU6))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(p=0.2), nn.Linear(64, num_classes))

    def forward(self, x):
        x = self.features(x)
        x = nn.functional.adaptive_avg_pool2d(x, (1, 1))
        x = torch.flatten(x, 1)
        return self.classifier(x)


class InvertedResidualV3(nn.Module):
    def __init__(self, c_in, k, expanded, c_out, use_se, act, stride):
        super().__init__()
        self.use_res_connect = stride == 1 and c_in == c_out
        layers = []
        if expanded != c_in:
            layers.append(ConvNormAct(c_in, expanded, 1, act=act))
        layers.append(ConvNormAct(expanded, expanded, k, stride, groups=expanded, act=act))
        if use_se:
            layers.append(SqueezeExcitation(expanded, _make_divisible(expanded // 4, 8),
                                            scale_act=nn.Hardsigmoid))
        layers.append(ConvNormAct(expanded, c_out, 1, act=None))
        self.block = nn.Sequential(*layers)

    def forward(self, x):
        result = self.block(x)
        if self.use_res_connect:
            result += x
        return result


def _make_divisible(v, divisor, min_value=None):
    min_value = min_value or divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


class MobileNetV3(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        norm = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)
        cfg = [(8, 3, 8, 8, True, nn.ReLU, 2), (8, 3, 24, 12, False, nn.ReLU, 2),
               (12, 5, 32, 12, True, nn.Hardswish, 1), (12, 5, 48, 16, True, nn.Hardswish, 2)]
        layers = [ConvNormAct(3, 8, stride=2, norm=norm, act=nn.Hardswish)]
        for c_in, k, exp, c_out, se, act, s in cfg:
            layers.append(InvertedResidualV3(c_in, k, exp, c_out, se, act, s))
        layers.append(ConvNormAct(16, 96, 1, norm=norm, act=nn.Hardswish))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Linear(96, 64), nn.Hardswish(inplace=True),
                                        nn.Dropout(p=0.2, inplace=True), nn.Linear(64, num_classes))

    def forward(self, x):
        x = self.features(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


# -- EfficientNet ------------------------------------------------------------------------------------

class MBConv(nn.Module):
    def __init__(self, c_in, c_out, k, stride, expand, sd_prob):
        super().__init__()
        self.use_res_connect = stride == 1 and c_in == c_out
        hidden = c_in * expand
        layers = []
        if hidden != c_in:
            layers.append(ConvNormAct(c_in, hidden, 1, act=nn.SiLU))
        layers.append(ConvNormAct(hidden, hidden, k, stride, groups=hidden, act=nn.SiLU))
        layers.append(SqueezeExcitation(hidden, max(1, c_in // 4), act=partial(nn.SiLU,
                                                                               inplace=True)))
        layers.append(ConvNormAct(hidden, c_out, 1, act=None))
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(sd_prob, "row")

    def forward(self, input):
        result = self.block(input)
        if self.use_res_connect:
            result = self.stochastic_depth(result)
            result += input
        return result


class EfficientNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        cfg = [(1, 3, 1, 8, 8, 1), (6, 3, 2, 8, 12, 2), (6, 5, 2, 12, 16, 2)]
        layers = [ConvNormAct(3, 8, stride=2, act=nn.SiLU)]
        total = sum(c[-1] for c in cfg)
        block_id = 0
        for expand, k, stride, c_in, c_out, n in cfg:
            for i in range(n):
                sd = 0.2 * block_id / total
                layers.append(MBConv(c_in if i == 0 else c_out, c_out, k,
                                     stride if i == 0 else 1, expand, sd))
                block_id += 1
        layers.append(ConvNormAct(16, 64, 1, act=nn.SiLU))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(p=0.2, inplace=True),
                                        nn.Linear(64, num_classes))

    def forward(self, x):
        x = self.avgpool(self.features(x))
        x = torch.flatten(x, 1)
        return self.classifier(x)


# -- ShuffleNetV2 -------------------------------------------------------------------------------------

def channel_shuffle(x: Tensor, groups: int) -> Tensor:
    batchsize, num_channels, height, width = x.size()
    channels_per_group = num_channels // groups
    x = x.view(batchsize, groups, channels_per_group, height, width)
    x = torch.transpose(x, 1, 2).contiguous()
    return x.view(batchsize, num_channels, height, width)


class ShuffleUnit(nn.Module):
    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.stride = stride
        branch = c_out // 2
        if stride > 1:
            self.branch1 = nn.Sequential(
                nn.Conv2d(c_in, c_in, 3, stride, 1, groups=c_in, bias=False),
                nn.BatchNorm2d(c_in), nn.Conv2d(c_in, branch, 1, bias=False),
                nn.BatchNorm2d(branch), nn.ReLU(inplace=True))
        else:
            self.branch1 = nn.Sequential()
        c = c_in if stride > 1 else branch
        self.branch2 = nn.Sequential(
            nn.Conv2d(c, branch, 1, bias=False), nn.BatchNorm2d(branch), nn.ReLU(inplace=True),
            nn.Conv2d(branch, branch, 3, stride, 1, groups=branch, bias=False),
            nn.BatchNorm2d(branch), nn.Conv2d(branch, branch, 1, bias=False),
            nn.BatchNorm2d(branch), nn.ReLU(inplace=True))

    def forward(self, x):
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
            out = torch.cat((x1, self.branch2(x2)), dim=1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        return channel_shuffle(out, 2)


class ShuffleNetV2(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8),
                                   nn.ReLU(inplace=True))
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.stage2 = nn.Sequential(ShuffleUnit(8, 16, 2), ShuffleUnit(16, 16, 1))
        self.stage3 = nn.Sequential(ShuffleUnit(16, 32, 2), ShuffleUnit(32, 32, 1))
        self.conv5 = nn.Sequential(nn.Conv2d(32, 64, 1, bias=False), nn.BatchNorm2d(64),
                                   nn.ReLU(inplace=True))
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x):
        x = self.maxpool(self.conv1(x))
        x = self.conv5(self.stage3(self.stage2(x)))
        x = x.mean([2, 3])  # globalpool
        return self.fc(x)


# -- SqueezeNet --------------------------------------------------------------------------------------

class Fire(nn.Module):
    def __init__(self, c_in, squeeze, e1, e3):
        super().__init__()
        self.squeeze = nn.Conv2d(c_in, squeeze, kernel_size=1)
        self.squeeze_activation = nn.ReLU(inplace=True)
        self.expand1x1 = nn.Conv2d(squeeze, e1, kernel_size=1)
        self.expand1x1_activation = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(squeeze, e3, kernel_size=3, padding=1)
        self.expand3x3_activation = nn.ReLU(inplace=True)

    def forward(self, x):
        x = self.squeeze_activation(self.squeeze(x))
        return torch.cat([self.expand1x1_activation(self.expand1x1(x)),
                          self.expand3x3_activation(self.expand3x3(x))], 1)


class SqueezeNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, kernel_size=3, stride=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True), Fire(16, 4, 8, 8),
            Fire(16, 4, 8, 8), nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
            Fire(16, 8, 16, 16))
        final_conv = nn.Conv2d(32, num_classes, kernel_size=1)
        self.classifier = nn.Sequential(nn.Dropout(p=0.5), final_conv, nn.ReLU(inplace=True),
                                        nn.AdaptiveAvgPool2d((1, 1)))

    def forward(self, x):
        x = self.features(x)
        x = self.classifier(x)
        return torch.flatten(x, 1)


# -- GoogLeNet / Inception ------------------------------------------------------------------------------

class BasicConv2d(nn.Module):
    def __init__(self, c_in, c_out, **kwargs):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(c_out, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)), inplace=True)


class Inception(nn.Module):
    def __init__(self, c_in, ch1, ch3r, ch3, ch5r, ch5, pool_proj):
        super().__init__()
        self.branch1 = BasicConv2d(c_in, ch1, kernel_size=1)
        self.branch2 = nn.Sequential(BasicConv2d(c_in, ch3r, kernel_size=1),
                                     BasicConv2d(ch3r, ch3, kernel_size=3, padding=1))
        self.branch3 = nn.Sequential(BasicConv2d(c_in, ch5r, kernel_size=1),
                                     BasicConv2d(ch5r, ch5, kernel_size=3, padding=1))
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
            BasicConv2d(c_in, pool_proj, kernel_size=1))

    def _forward(self, x):
        return [self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)]

    def forward(self, x):
        return torch.cat(self._forward(x), 1)


class GoogLeNet(nn.Module):
    def __init__(self, num_classes=10, transform_input=True):
        super().__init__()
        self.transform_input = transform_input
        self.conv1 = BasicConv2d(3, 8, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(8, 16, kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception3a = Inception(16, 8, 4, 8, 2, 4, 4)
        self.inception3b = Inception(24, 8, 4, 8, 2, 4, 4)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(0.2)
        self.fc = nn.Linear(24, num_classes)

    def _transform_input(self, x):
        if self.transform_input:
            x_ch0 = torch.unsqueeze(x[:, 0], 1) * (0.229 / 0.5) + (0.485 - 0.5) / 0.5
            x_ch1 = torch.unsqueeze(x[:, 1], 1) * (0.224 / 0.5) + (0.456 - 0.5) / 0.5
            x_ch2 = torch.unsqueeze(x[:, 2], 1) * (0.225 / 0.5) + (0.406 - 0.5) / 0.5
            x = torch.cat((x_ch0, x_ch1, x_ch2), 1)
        return x

    def forward(self, x):
        x = self._transform_input(x)
        x = self.maxpool1(self.conv1(x))
        x = self.maxpool2(self.conv2(x))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(self.dropout(x))


class InceptionA(nn.Module):
    """Inception v3's block with functional pools in forward."""

    def __init__(self, c_in, pool_features):
        super().__init__()
        self.branch1x1 = BasicConv2d(c_in, 8, kernel_size=1)
        self.branch5x5_1 = BasicConv2d(c_in, 6, kernel_size=1)
        self.branch5x5_2 = BasicConv2d(6, 8, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(c_in, 8, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(8, 12, kernel_size=3, padding=1)
        self.branch_pool = BasicConv2d(c_in, pool_features, kernel_size=1)

    def forward(self, x):
        branch1x1 = self.branch1x1(x)
        branch5x5 = self.branch5x5_2(self.branch5x5_1(x))
        branch3x3dbl = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        branch_pool = F.avg_pool2d(x, kernel_size=3, stride=1, padding=1)
        branch_pool = self.branch_pool(branch_pool)
        outputs = [branch1x1, branch5x5, branch3x3dbl, branch_pool]
        return torch.cat(outputs, 1)


class InceptionV3Small(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.Conv2d_1a_3x3 = BasicConv2d(3, 8, kernel_size=3, stride=2)
        self.maxpool1 = nn.MaxPool2d(kernel_size=3, stride=2)
        self.Mixed_5b = InceptionA(8, pool_features=4)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout()
        self.fc = nn.Linear(32, num_classes)

    def forward(self, x):
        x = self.maxpool1(self.Conv2d_1a_3x3(x))
        x = F.max_pool2d(self.Mixed_5b(x), kernel_size=3, stride=2)
        x = self.dropout(self.avgpool(x))
        return self.fc(torch.flatten(x, 1))


# -- RegNet / MNASNet ----------------------------------------------------------------------------------

class BottleneckTransform(nn.Sequential):
    def __init__(self, w_in, w_out, stride, group_width, se_ratio):
        layers = {}
        groups = w_out // group_width
        layers["a"] = ConvNormAct(w_in, w_out, 1)
        layers["b"] = ConvNormAct(w_out, w_out, 3, stride, groups=groups)
        layers["se"] = SqueezeExcitation(w_out, int(round(se_ratio * w_in)))
        layers["c"] = ConvNormAct(w_out, w_out, 1, act=None)
        super().__init__(*layers.values())


class ResBottleneckBlock(nn.Module):
    def __init__(self, w_in, w_out, stride, group_width=4, se_ratio=0.25):
        super().__init__()
        self.proj = None
        if w_in != w_out or stride != 1:
            self.proj = ConvNormAct(w_in, w_out, 1, stride, act=None)
        self.f = BottleneckTransform(w_in, w_out, stride, group_width, se_ratio)
        self.activation = nn.ReLU(inplace=True)

    def forward(self, x):
        if self.proj is not None:
            x = self.proj(x) + self.f(x)
        else:
            x = x + self.f(x)
        return self.activation(x)


class RegNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.stem = ConvNormAct(3, 8, 3, 2)
        self.trunk_output = nn.Sequential(
            nn.Sequential(ResBottleneckBlock(8, 16, 2), ResBottleneckBlock(16, 16, 1)),
            nn.Sequential(ResBottleneckBlock(16, 32, 2)))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(32, num_classes)

    def forward(self, x):
        x = self.trunk_output(self.stem(x))
        x = self.avgpool(x)
        return self.fc(x.flatten(start_dim=1))


class _MnasResidual(nn.Module):
    def __init__(self, c_in, c_out, k, stride, expand, momentum=0.0003):
        super().__init__()
        mid = c_in * expand
        self.apply_residual = c_in == c_out and stride == 1
        self.layers = nn.Sequential(
            nn.Conv2d(c_in, mid, 1, bias=False), nn.BatchNorm2d(mid, momentum=momentum),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid, mid, k, padding=k // 2, stride=stride, groups=mid, bias=False),
            nn.BatchNorm2d(mid, momentum=momentum), nn.ReLU(inplace=True),
            nn.Conv2d(mid, c_out, 1, bias=False), nn.BatchNorm2d(c_out, momentum=momentum))

    def forward(self, input):
        if self.apply_residual:
            return self.layers(input) + input
        return self.layers(input)


class MNASNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1, stride=2, bias=False), nn.BatchNorm2d(8),
            nn.ReLU(inplace=True), _MnasResidual(8, 8, 3, 1, 1), _MnasResidual(8, 12, 5, 2, 3),
            _MnasResidual(12, 12, 5, 1, 3), nn.Conv2d(12, 64, 1, bias=False),
            nn.BatchNorm2d(64), nn.ReLU(inplace=True))
        self.classifier = nn.Sequential(nn.Dropout(p=0.2, inplace=True),
                                        nn.Linear(64, num_classes))

    def forward(self, x):
        x = self.layers(x)
        x = x.mean([2, 3])
        return self.classifier(x)
