"""Building blocks shared by the families: attention, conv and MLP networks, norm helpers."""
from mspgsen.nn.attention import SelfAttention2d, TokenSelfAttention, VectorSelfAttention
from mspgsen.nn.conv import ConvDiscriminator, ConvGenerator, generator_sizes
from mspgsen.nn.mlp import MLPDiscriminator, MLPGenerator
from mspgsen.nn.spec import NetSpec

__all__ = ["SelfAttention2d", "TokenSelfAttention", "VectorSelfAttention", "ConvDiscriminator", "ConvGenerator",
           "generator_sizes", "MLPDiscriminator", "MLPGenerator", "NetSpec"]
