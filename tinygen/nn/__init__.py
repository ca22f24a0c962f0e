"""Neural-network building blocks: :class:`Module` and :class:`Parameter`, containers, layers,
recurrent (LSTM, GRU, ON-LSTM) and attention layers, spectral normalisation, and initialisers
(``nn.init``)."""

from . import init
from .attention import MultiHeadAttention, masked_softmax
from .conv import (
    AvgPool2d,
    BatchNorm2d,
    Conv1d,
    Conv2d,
    ConvTranspose2d,
    Flatten,
    MaxPool2d,
    Upsample,
)
from .crf import CRF, bmes_constraints
from .layers import (
    BatchNorm1d,
    Dropout,
    Embedding,
    LayerNorm,
    LeakyReLU,
    Linear,
    Maxout,
    ReLU,
    Sigmoid,
    Tanh,
)
from .module import (
    LoadResult,
    Module,
    ModuleDict,
    ModuleList,
    Parameter,
    Sequential,
    functional_call,
)
from .onlstm import ONLSTM, ONLSTMCell, cumax
from .recurrent import GRU, LSTM, GRUCell, LSTMCell
from .spectral import SpectralNorm
from .transformer import TransformerEncoderLayer

__all__ = [
    "AvgPool2d", "BatchNorm2d", "CRF", "Conv1d", "Conv2d", "ConvTranspose2d", "Flatten",
    "MaxPool2d", "Upsample",
    "GRU", "LSTM", "BatchNorm1d", "Dropout", "Embedding", "GRUCell", "LSTMCell", "LayerNorm",
    "LeakyReLU", "Linear", "LoadResult", "Maxout", "Module", "ModuleDict", "ModuleList",
    "MultiHeadAttention", "Parameter", "ReLU", "Sequential", "Sigmoid", "SpectralNorm", "Tanh",
    "bmes_constraints", "functional_call", "init", "masked_softmax",
    "ONLSTM", "ONLSTMCell", "cumax",
    "TransformerEncoderLayer",
]
