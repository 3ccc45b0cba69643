"""Models written the way torchvision, timm and text-classification code write them import
exactly: the compiled graph gives the model's outputs (BatchNorm statistics and norm weights
randomised first) and has the same number of parameters. The models are narrow versions;
the architecture idioms are the real ones."""
from __future__ import annotations

import pytest
import torch

from engine.importers import ImportModelError, import_module

from .import_zoo import convnets as C
from .import_zoo import modern as M
from .import_zoo import more as X
from .import_zoo import text as T
from .import_zoo.check import check_import

IMAGE = (3, 32, 32)

MODELS = {
    "resnet18": (C.resnet18, IMAGE, "float"),
    "resnet50": (C.resnet50, IMAGE, "float"),
    "resnext": (C.resnext, IMAGE, "float"),
    "vgg_bn": (C.VGG, IMAGE, "float"),
    "densenet": (C.DenseNet, IMAGE, "float"),
    "mobilenet_v2": (C.MobileNetV2, IMAGE, "float"),
    "mobilenet_v3": (C.MobileNetV3, IMAGE, "float"),
    "efficientnet": (C.EfficientNet, IMAGE, "float"),
    "shufflenet_v2": (C.ShuffleNetV2, IMAGE, "float"),
    "squeezenet": (C.SqueezeNet, (3, 33, 33), "float"),
    "googlenet": (C.GoogLeNet, IMAGE, "float"),
    "inception_v3": (C.InceptionV3Small, (3, 35, 35), "float"),
    "regnet": (C.RegNet, IMAGE, "float"),
    "mnasnet": (C.MNASNet, IMAGE, "float"),
    "convnext": (M.ConvNeXt, IMAGE, "float"),
    "vit": (M.VisionTransformer, (3, 16, 16), "float"),
    "timm_resnet": (M.TimmResNet, IMAGE, "float"),
    "timm_convnext": (M.TimmConvNeXt, IMAGE, "float"),
    "timm_vit": (M.TimmViT, (3, 16, 16), "float"),
    "timm_vit_avg_layerscale": (lambda: M.TimmViT(global_pool="avg", init_values=1e-5),
                                (3, 16, 16), "float"),
    "timm_vit_unfused_attention": (lambda: M.TimmViT(fused_attn=False), (3, 16, 16), "float"),
    "timm_vit_register_tokens": (lambda: M.TimmViT(reg_tokens=2), (3, 16, 16), "float"),
    "kim_cnn": (T.KimCNN, (12,), "long"),
    "text_cnn_1d": (T.TextCNN1d, (12,), "long"),
    "bilstm": (T.BiLSTMClassifier, (7,), "long"),
    "gru": (T.GRUClassifier, (7,), "long"),
    "bigru_sequence_and_state": (T.BiGRUBoth, (7,), "long"),
    "lstm_zero_state": (T.LSTMZeroState, (7, 3), "float"),
    "lstm_seq_first": (T.SeqFirstLSTM, (7,), "long"),
    "alexnet": (X.AlexNet, (3, 95, 95), "float"),
    "efficientnet_v2": (X.EfficientNetV2, IMAGE, "float"),
    "timm_resnet_d": (X.ResNetD, IMAGE, "float"),
    "timm_efficientnet": (X.TimmEfficientNet, IMAGE, "float"),
    "deit_distilled": (X.DistilledViT, (3, 16, 16), "float"),
    "fasttext": (X.FastText, (9,), "long"),
    "attention_lstm": (X.AttentionLSTM, (7,), "long"),
    "char_cnn": (X.CharCNN, (20,), "long"),
    "transformer_classifier": (T.TransformerClassifier, (9,), "long"),
    "sinusoidal_transformer": (T.SinusoidalTransformer, (9,), "long"),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_model_imports_exactly(name):
    make, shape, dtype = MODELS[name]
    check_import(make(), shape, dtype)


def _types(graph) -> list[str]:
    return [n.type for n in graph.nodes.values()]


def _nodes(graph, layer_type: str) -> list:
    return [n for n in graph.nodes.values() if n.type == layer_type]


def test_what_the_idioms_become():
    """The (flat) graph reads like the model: SE gates are Multiply merges, drop path and layer
    scale are nodes of their own, a class token is a Parameter, channel shuffle is
    Reshape/Permute/Reshape, the bidirectional state is the GRU's 'hidden' output."""
    types = _types(check_import(C.EfficientNet(), IMAGE, blocks=False))
    assert types.count("core.DropPath") == 3 and types.count("merge.Multiply") == 5
    assert "act.SiLU" in types
    types = _types(check_import(M.ConvNeXt(), IMAGE, blocks=False))
    assert types.count("core.Parameter") == 3 and types.count("norm.LayerNorm") == 6
    assert types.count("core.Permute") == 12  # 3 blocks and 3 LayerNorm2d, 2 each
    graph = check_import(M.VisionTransformer(), (3, 16, 16), blocks=False)
    params = _nodes(graph, "core.Parameter")
    assert sorted(n.name for n in params) == ["class_token", "encoder_pos_embedding"]
    assert all(n.params["learnable"] for n in params)
    graph = check_import(C.ShuffleNetV2(), IMAGE, blocks=False)
    assert _types(graph).count("core.Slice") == 4  # two chunks of each x.chunk(2)
    graph = check_import(T.BiLSTMClassifier(), (7,), "long", blocks=False)
    lstm, = _nodes(graph, "rnn.LSTM")
    assert lstm.params["output"] == "hidden" and lstm.params["bidirectional"]
    assert "merge.Concatenate" not in _types(graph)
    emb, = _nodes(graph, "core.Embedding")
    assert emb.params["padding_idx"] == 0
    graph = check_import(C.SqueezeNet(), (3, 33, 33), blocks=False)
    pools = _nodes(graph, "pool.MaxPool2d")
    assert pools and all(n.params["ceil_mode"] for n in pools)


def test_a_window_attention_that_folds_the_batch_is_a_clear_error():
    with pytest.raises(ImportModelError, match=r"node 'roll' \(torch.roll, "
                       r"modern.py:\d+\): no Studio layer for it"):
        import_module(M.SwinLike().eval(), torch.randn(2, 3, 16, 16))


@pytest.mark.slow
def test_full_size_resnet50_imports_exactly():
    model = C.ResNet(C.Bottleneck, [3, 4, 6, 3], num_classes=1000, width=64)
    graph = check_import(model, (3, 224, 224), atol=1e-4, blocks=False)
    assert len(_nodes(graph, "conv.Conv2d")) == 53
