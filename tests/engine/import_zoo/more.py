"""More models in the idioms people copy: AlexNet, EfficientNetV2's fused blocks, a ResNet-D
(deep stem, average-pool shortcut), timm's EfficientNet blocks (BatchNormAct2d, SE on
`x.mean((2, 3), keepdim=True)`), DeiT's distillation token, and the text models of tutorials
(mean of embeddings, attention over LSTM states, max over time with `torch.max(...)[0]`)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .convnets import ConvNormAct, StochasticDepth
from .modern import BatchNormAct2d, Block, DropPath, PatchEmbed, SqueezeExcite


# -- AlexNet --------------------------------------------------------------------------------------

class AlexNet(nn.Module):
    def __init__(self, num_classes: int = 10, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, kernel_size=11, stride=4, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(16, 24, kernel_size=5, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(24, 32, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(32, 24, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(24, 24, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout), nn.Linear(24 * 6 * 6, 64), nn.ReLU(inplace=True),
            nn.Dropout(p=dropout), nn.Linear(64, 64), nn.ReLU(inplace=True),
            nn.Linear(64, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        x = self.features(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


# -- EfficientNetV2 (fused inverted residuals) ---------------------------------------------------

class FusedMBConv(nn.Module):
    def __init__(self, c_in, c_out, expand, stride, sd_prob):
        super().__init__()
        self.use_res_connect = stride == 1 and c_in == c_out
        hidden = c_in * expand
        layers: list[nn.Module] = []
        if hidden != c_in:
            layers.append(ConvNormAct(c_in, hidden, 3, stride, act=nn.SiLU))
            layers.append(ConvNormAct(hidden, c_out, 1, act=None))
        else:
            layers.append(ConvNormAct(c_in, c_out, 3, stride, act=nn.SiLU))
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(sd_prob, "row")

    def forward(self, input: Tensor) -> Tensor:
        result = self.block(input)
        if self.use_res_connect:
            result = self.stochastic_depth(result)
            result += input
        return result


class EfficientNetV2(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        cfg = [(1, 8, 8, 1), (4, 8, 16, 2), (4, 16, 16, 1)]
        layers: list[nn.Module] = [ConvNormAct(3, 8, 3, 2, act=nn.SiLU)]
        for i, (e, c_in, c_out, s) in enumerate(cfg):
            layers.append(nn.Sequential(FusedMBConv(c_in, c_out, e, s, 0.1 * i / len(cfg))))
        layers.append(ConvNormAct(16, 32, 1, act=nn.SiLU))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(p=0.2, inplace=True),
                                        nn.Linear(32, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        x = self.features(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


# -- ResNet-D as timm builds it (deep stem, avg_down shortcut) ------------------------------------

class BottleneckD(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        width = planes
        self.conv1 = nn.Conv2d(inplanes, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.act1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.act2 = nn.ReLU(inplace=True)
        self.conv3 = nn.Conv2d(width, planes * self.expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.act3 = nn.ReLU(inplace=True)
        self.downsample = downsample

    def zero_init_last(self):
        nn.init.zeros_(self.bn3.weight)

    def forward(self, x):
        shortcut = x
        x = self.act1(self.bn1(self.conv1(x)))
        x = self.act2(self.bn2(self.conv2(x)))
        x = self.bn3(self.conv3(x))
        if self.downsample is not None:
            shortcut = self.downsample(shortcut)
        x += shortcut
        return self.act3(x)


def downsample_avg(c_in, c_out, stride):
    pool = nn.AvgPool2d(2, stride, ceil_mode=True, count_include_pad=False) if stride > 1 \
        else nn.Identity()
    return nn.Sequential(pool, nn.Conv2d(c_in, c_out, 1, stride=1, bias=False),
                         nn.BatchNorm2d(c_out))


class ResNetD(nn.Module):
    def __init__(self, num_classes=10, stem_width=8):
        super().__init__()
        self.conv1 = nn.Sequential(
            nn.Conv2d(3, stem_width, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(stem_width), nn.ReLU(inplace=True),
            nn.Conv2d(stem_width, stem_width, 3, stride=1, padding=1, bias=False),
            nn.BatchNorm2d(stem_width), nn.ReLU(inplace=True),
            nn.Conv2d(stem_width, stem_width * 2, 3, stride=1, padding=1, bias=False))
        self.bn1 = nn.BatchNorm2d(stem_width * 2)
        self.act1 = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        inplanes = stem_width * 2
        stages = []
        for planes, stride in ((8, 1), (16, 2)):
            blocks = [BottleneckD(inplanes, planes, stride,
                                  downsample_avg(inplanes, planes * 4, stride)),
                      BottleneckD(planes * 4, planes)]
            inplanes = planes * 4
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2 = stages
        self.global_pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten(1)
        self.fc = nn.Linear(inplanes, num_classes)

    def forward_features(self, x):
        x = self.maxpool(self.act1(self.bn1(self.conv1(x))))
        return self.layer2(self.layer1(x))

    def forward_head(self, x, pre_logits: bool = False):
        x = self.flatten(self.global_pool(x))
        return x if pre_logits else self.fc(x)

    def forward(self, x):
        return self.forward_head(self.forward_features(x))


# -- timm EfficientNet blocks ---------------------------------------------------------------------

def se_timm(rd_ratio: float):
    """timm's SqueezeExcite with reduced channels from a ratio of the block's channels."""
    return lambda c: SqueezeExcite(c, max(1, int(c * rd_ratio)), act_layer=nn.SiLU)


class DepthwiseSeparableConv(nn.Module):
    def __init__(self, in_chs, out_chs, stride=1, se_layer=None, drop_path_rate=0.0):
        super().__init__()
        self.has_skip = stride == 1 and in_chs == out_chs
        self.conv_dw = nn.Conv2d(in_chs, in_chs, 3, stride, 1, groups=in_chs, bias=False)
        self.bn1 = BatchNormAct2d(in_chs, act_layer=nn.SiLU)
        self.se = se_layer(in_chs) if se_layer else nn.Identity()
        self.conv_pw = nn.Conv2d(in_chs, out_chs, 1, bias=False)
        self.bn2 = BatchNormAct2d(out_chs, apply_act=False)
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate else nn.Identity()

    def forward(self, x):
        shortcut = x
        x = self.conv_dw(x)
        x = self.bn1(x)
        x = self.se(x)
        x = self.conv_pw(x)
        x = self.bn2(x)
        if self.has_skip:
            x = self.drop_path(x) + shortcut
        return x


class InvertedResidualTimm(nn.Module):
    def __init__(self, in_chs, out_chs, stride=1, exp_ratio=4.0, se_layer=None,
                 drop_path_rate=0.0):
        super().__init__()
        mid = int(in_chs * exp_ratio)
        self.has_skip = in_chs == out_chs and stride == 1
        self.conv_pw = nn.Conv2d(in_chs, mid, 1, bias=False)
        self.bn1 = BatchNormAct2d(mid, act_layer=nn.SiLU)
        self.conv_dw = nn.Conv2d(mid, mid, 3, stride, 1, groups=mid, bias=False)
        self.bn2 = BatchNormAct2d(mid, act_layer=nn.SiLU)
        self.se = se_layer(mid) if se_layer else nn.Identity()
        self.conv_pwl = nn.Conv2d(mid, out_chs, 1, bias=False)
        self.bn3 = BatchNormAct2d(out_chs, apply_act=False)
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate else nn.Identity()

    def forward(self, x):
        shortcut = x
        x = self.conv_pw(x)
        x = self.bn1(x)
        x = self.conv_dw(x)
        x = self.bn2(x)
        x = self.se(x)
        x = self.conv_pwl(x)
        x = self.bn3(x)
        if self.has_skip:
            x = self.drop_path(x) + shortcut
        return x


class SelectAdaptivePool2d(nn.Module):
    def __init__(self, pool_type="avg", flatten=True):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1) if pool_type == "avg" else nn.AdaptiveMaxPool2d(1)
        self.flatten = nn.Flatten(1) if flatten else nn.Identity()

    def forward(self, x):
        return self.flatten(self.pool(x))


class TimmEfficientNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        se = se_timm(0.25 / 4)
        self.conv_stem = nn.Conv2d(3, 16, 3, 2, 1, bias=False)
        self.bn1 = BatchNormAct2d(16, act_layer=nn.SiLU)
        self.blocks = nn.Sequential(
            nn.Sequential(DepthwiseSeparableConv(16, 16, se_layer=se_timm(0.25),
                                                 drop_path_rate=0.05)),
            nn.Sequential(InvertedResidualTimm(16, 24, 2, se_layer=se),
                          InvertedResidualTimm(24, 24, 1, se_layer=se, drop_path_rate=0.1)),
        )
        self.conv_head = nn.Conv2d(24, 64, 1, bias=False)
        self.bn2 = BatchNormAct2d(64, act_layer=nn.SiLU)
        self.global_pool = SelectAdaptivePool2d()
        self.classifier = nn.Linear(64, num_classes)

    def forward(self, x):
        x = self.bn1(self.conv_stem(x))
        x = self.blocks(x)
        x = self.bn2(self.conv_head(x))
        return self.classifier(self.global_pool(x))


# -- DeiT: class and distillation tokens ----------------------------------------------------------

class DistilledViT(nn.Module):
    def __init__(self, img_size=16, patch_size=4, embed_dim=32, depth=2, num_heads=4,
                 num_classes=10):
        super().__init__()
        self.num_prefix_tokens = 2
        self.patch_embed = PatchEmbed(img_size, patch_size, 3, embed_dim)
        num_patches = self.patch_embed.num_patches
        self.cls_token = nn.Parameter(torch.randn(1, 1, embed_dim) * 0.02)
        self.dist_token = nn.Parameter(torch.randn(1, 1, embed_dim) * 0.02)
        self.pos_embed = nn.Parameter(torch.randn(1, num_patches + 2, embed_dim) * 0.02)
        self.pos_drop = nn.Dropout(0.0)
        self.blocks = nn.Sequential(*[Block(embed_dim, num_heads) for _ in range(depth)])
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        self.head = nn.Linear(embed_dim, num_classes)
        self.head_dist = nn.Linear(embed_dim, num_classes)
        self.distilled_training = False

    def _pos_embed(self, x):
        x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1),
                       self.dist_token.expand(x.shape[0], -1, -1), x), dim=1)
        return self.pos_drop(x + self.pos_embed)

    def forward(self, x):
        x = self.patch_embed(x)
        x = self._pos_embed(x)
        x = self.norm(self.blocks(x))
        x, x_dist = x[:, 0], x[:, 1]
        x, x_dist = self.head(x), self.head_dist(x_dist)
        if self.distilled_training and self.training and not torch.jit.is_scripting():
            return x, x_dist
        return (x + x_dist) / 2


# -- text models of tutorials ---------------------------------------------------------------------

class FastText(nn.Module):
    """Average of the word vectors, then a linear classifier."""
    def __init__(self, vocab_size=50, embed_dim=16, num_classes=4):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.fc = nn.Linear(embed_dim, num_classes)

    def forward(self, text):
        embedded = self.embedding(text)
        pooled = embedded.mean(dim=1)
        return self.fc(pooled)


class AttentionLSTM(nn.Module):
    """A bidirectional LSTM whose states are weighted by a learned attention score."""
    def __init__(self, vocab_size=50, embed_dim=16, hidden=12, num_classes=3):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.lstm = nn.LSTM(embed_dim, hidden, batch_first=True, bidirectional=True)
        self.attn = nn.Linear(hidden * 2, 1)
        self.fc = nn.Linear(hidden * 2, num_classes)

    def forward(self, x):
        out, (h, c) = self.lstm(self.embedding(x))
        scores = self.attn(out).squeeze(-1)
        weights = F.softmax(scores, dim=1)
        context = torch.bmm(weights.unsqueeze(1), out).squeeze(1)
        return self.fc(context)


class CharCNN(nn.Module):
    """Convolutions over characters, max over time written as torch.max(x, 2)[0]."""
    def __init__(self, vocab_size=50, embed_dim=12, num_classes=4):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_dim)
        self.conv1 = nn.Conv1d(embed_dim, 16, 3, padding=1)
        self.conv2 = nn.Conv1d(16, 16, 3)
        self.dropout = nn.Dropout(0.5)
        self.fc = nn.Linear(16, num_classes)

    def forward(self, x):
        x = self.embed(x).transpose(1, 2)
        x = F.max_pool1d(F.relu(self.conv1(x)), 2)
        x = F.relu(self.conv2(x))
        x = torch.max(x, 2)[0]
        return self.fc(self.dropout(x))
