"""camp_utils.hooks: finding layers and recording their outputs."""
import pytest
import torch
from torch import nn

from camp_utils.hooks import FeatureExtractor, find_layer


def conv_relu_net():
    """A net of conv (weights 1) -> ReLU(inplace=True) -> conv: the homework's pitfall in three layers."""
    net = nn.Sequential(nn.Conv2d(1, 2, 1, bias=False), nn.ReLU(inplace=True), nn.Conv2d(2, 1, 1))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([1.0, -1.0]).view(2, 1, 1, 1))
    return net


def hook_count(model):
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


def test_find_layer_by_name_and_by_module():
    net = conv_relu_net()
    assert find_layer(net, "1") == ("1", net[1])
    assert find_layer(net, net[2]) == ("2", net[2])
    assert find_layer(net, "") == ("", net)


def test_unknown_layer_name_lists_close_matches():
    model = nn.Sequential()
    model.add_module("features", nn.Sequential(nn.Conv2d(1, 1, 1), nn.ReLU()))
    with pytest.raises(ValueError, match=r"'feature\.0' is not a layer of Sequential; did you mean 'features\.0'"):
        find_layer(model, "feature.0")


def test_unknown_layer_without_close_match_lists_the_layers():
    with pytest.raises(ValueError, match=r"the model's layers are '0', '1', '2'"):
        find_layer(conv_relu_net(), "classifier")


def test_module_from_another_model_is_rejected():
    with pytest.raises(ValueError, match="not part of the model"):
        find_layer(conv_relu_net(), nn.ReLU())
    with pytest.raises(ValueError, match="layer must be a layer name"):
        find_layer(conv_relu_net(), 3)


def test_records_a_copy_that_the_inplace_relu_cannot_change():
    net = conv_relu_net()
    x = torch.tensor([[1.0, -2.0], [3.0, -4.0]]).view(1, 1, 2, 2)
    with FeatureExtractor(net, ["0", "1"]) as fx:
        net(x)
    conv_out = fx.features["0"]
    assert torch.equal(conv_out[0, 0], x[0, 0]) and torch.equal(conv_out[0, 1], -x[0, 0])
    assert conv_out.min() == -4 and not conv_out.requires_grad
    assert fx.features["1"].min() == 0
    assert list(fx.features) == ["0", "1"]


def test_raw_reference_is_overwritten_by_the_inplace_relu():
    net = conv_relu_net()
    x = torch.tensor([[1.0, -2.0], [3.0, -4.0]]).view(1, 1, 2, 2)
    with FeatureExtractor(net, "0", copy=False) as fx:
        net(x)
    assert fx.features["0"].min() == 0  # the negative values were there when the hook ran


def test_hooks_are_removed_on_exit_and_when_the_body_raises():
    net = conv_relu_net()
    with FeatureExtractor(net, ["0", "2"]):
        assert hook_count(net) == 2
    assert hook_count(net) == 0
    with pytest.raises(RuntimeError, match="boom"), FeatureExtractor(net, ["0", "2"]):
        raise RuntimeError("boom")
    assert hook_count(net) == 0


def test_records_stay_after_exit_and_nothing_is_recorded_outside():
    net = conv_relu_net()
    fx = FeatureExtractor(net, "2")
    with fx:
        net(torch.ones(1, 1, 2, 2))
    first = fx.features["2"].clone()
    net(torch.zeros(1, 1, 2, 2))
    assert torch.equal(fx.features["2"], first)
    with fx:  # re-entering starts afresh
        assert fx.features == {}


def test_bad_layer_lists_are_rejected():
    net = conv_relu_net()
    with pytest.raises(ValueError, match="layers is empty"):
        FeatureExtractor(net, [])
    with pytest.raises(ValueError, match="repeated"):
        FeatureExtractor(net, ["0", "0"])
    with pytest.raises(ValueError, match="did you mean"):
        FeatureExtractor(net, ["0", "11"])
    assert hook_count(net) == 0


def test_feature_extractor_copies_namedtuples_and_packed_sequences():
    from collections import namedtuple

    from torch import nn
    from torch.nn.utils.rnn import pack_sequence

    Pair = namedtuple("Pair", "left right")

    class Split(nn.Module):
        def forward(self, x):
            return Pair(x[:, :2], x[:, 2:])

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.split = Split()
            self.rnn = nn.GRU(3, 4)

        def forward(self, x, sequences):
            pair = self.split(x)
            out, _ = self.rnn(sequences)
            return pair.left.sum() + out.data.sum()

    net = Net()
    x = torch.randn(2, 5)
    packed = pack_sequence([torch.randn(3, 3), torch.randn(2, 3)])
    with FeatureExtractor(net, ["split", "rnn"]) as extractor:
        net(x, packed)
    pair = extractor.features["split"]
    assert isinstance(pair, Pair) and torch.equal(pair.left, x[:, :2]) and torch.equal(pair.right, x[:, 2:])
    out, hidden = extractor.features["rnn"]
    assert type(out).__name__ == "PackedSequence" and out.data.shape == (5, 4) and hidden.shape == (1, 2, 4)
