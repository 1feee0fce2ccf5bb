"""The numpy features against librosa and OpenCV, and their chunk-size invariance.

Tolerances: log-mel within 1e-3 dB and MFCC within 1e-3 (measured differences are
about 4e-6 dB and 2e-5: float32 rounding of librosa's STFT); area resize within 0.6
levels of cv2.INTER_AREA in colour (cv2 rounds its result to uint8) and 1 level in grey
(cv2 also rounds the grey image before averaging).
"""

from __future__ import annotations

import numpy as np
import pytest

from edge.errors import ConfigError
from edge.features import FrameSpec, LogMelSpec, MfccSpec, NoFeatures, feature_spec_from_dict
from edge.features.audio import dct_ortho, mel_filterbank
from edge.features.resample import StreamingResampler, resample_ratio

librosa = pytest.importorskip("librosa", reason="librosa is the reference: pip install -e '.[dev]'")

LOGMEL_DB_TOL = 1e-3
MFCC_TOL = 1e-3


def machine_hum(seconds: float = 3.0, rate: int = 16000, seed: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    noise = np.random.default_rng(seed).standard_normal(len(t))
    return (0.3 * np.sin(2 * np.pi * 120 * t) + 0.1 * np.sin(2 * np.pi * 240 * t) + 0.05 * noise).astype(np.float32)


def librosa_mel(y: np.ndarray, spec: LogMelSpec, htk: bool = False, norm="slaney") -> np.ndarray:
    mel = librosa.feature.melspectrogram(y=y, sr=spec.sample_rate, n_fft=spec.n_fft, win_length=spec.win_length,
                                         hop_length=spec.hop_length, n_mels=spec.n_mels, fmin=spec.fmin,
                                         fmax=spec.fmax, center=False, power=2.0, htk=htk, norm=norm)
    return librosa.power_to_db(mel, ref=1.0, amin=spec.amin, top_db=None)


@pytest.mark.parametrize("params", [
    {},
    {"n_fft": 400, "win_length": 400, "hop_length": 160, "n_mels": 64, "fmin": 0.0},
    {"n_fft": 1024, "win_length": 1024, "hop_length": 512, "n_mels": 128, "fmax": 7600.0},
])
def test_logmel_matches_librosa(params):
    spec = LogMelSpec(**params)
    y = machine_hum()
    ours = spec.transform(y)
    reference = librosa_mel(y, spec).T
    assert ours.shape == reference.shape
    assert np.max(np.abs(ours - reference)) < LOGMEL_DB_TOL


def test_htk_mel_scale_without_norm_matches_librosa():
    spec = LogMelSpec(mel_scale="htk", mel_norm=None)
    y = machine_hum()
    reference = librosa_mel(y, spec, htk=True, norm=None).T
    assert np.max(np.abs(spec.transform(y) - reference)) < LOGMEL_DB_TOL


def test_filterbank_and_dct_equal_librosa_and_scipy_matrices():
    ours = mel_filterbank(22050, 2048, 80, 30.0, 8000.0)
    assert np.allclose(ours, librosa.filters.mel(sr=22050, n_fft=2048, n_mels=80, fmin=30.0, fmax=8000.0),
                       rtol=1e-5, atol=1e-9)
    from scipy.fft import dct

    eye = np.eye(40)
    assert np.allclose(dct_ortho(13, 40), dct(eye, type=2, norm="ortho", axis=0)[:13])


def test_mfcc_matches_librosa():
    spec = MfccSpec(n_mfcc=20)
    y = machine_hum()
    reference = librosa.feature.mfcc(S=librosa_mel(y, spec), n_mfcc=20, dct_type=2, norm="ortho").T
    ours = spec.transform(y)
    assert ours.shape == reference.shape == (1 + (len(y) - spec.n_fft) // spec.hop_length, 20)
    assert np.max(np.abs(ours - reference)) < MFCC_TOL


@pytest.mark.parametrize("spec", [LogMelSpec(), MfccSpec()], ids=["logmel", "mfcc"])
def test_streaming_frames_are_bit_identical_for_any_chunking(spec):
    y = machine_hum(2.0)
    whole, whole_times = spec.extractor().push(y[:, None], np.arange(len(y), dtype=np.float64))
    for size in (1, 159, 160, 1000, 16000):
        extractor = spec.extractor()
        parts = [extractor.push(y[i:i + size, None], np.arange(i, min(i + size, len(y)), dtype=np.float64))
                 for i in range(0, len(y), size)]
        frames = np.concatenate([p[0] for p in parts])
        times = np.concatenate([p[1] for p in parts])
        assert np.array_equal(frames, whole), size
        assert np.array_equal(times, whole_times), size
    # each frame is stamped with its last sample
    assert whole_times[0] == spec.n_fft - 1 and whole_times[1] == spec.n_fft - 1 + spec.hop_length


def test_reset_forgets_the_remainder():
    spec = LogMelSpec()
    extractor = spec.extractor()
    y = machine_hum(1.0)
    extractor.push(y[:300])
    extractor.reset()
    assert np.array_equal(extractor.push(y)[0], spec.transform(y))


@pytest.mark.parametrize("rates", [(44100, 16000), (48000, 16000), (22050, 16000), (8000, 16000)])
def test_resampler_is_accurate_and_chunk_size_invariant(rates):
    fin, fout = rates
    t = np.arange(fin) / fin
    x = (0.5 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * 3000 * t)).astype(np.float32)
    whole = StreamingResampler(fin, fout).push(x)
    resampler = StreamingResampler(fin, fout)
    sizes = np.random.default_rng(0).integers(1, 3000, size=2000)
    pieces, start = [], 0
    for size in sizes:
        if start >= len(x):
            break
        pieces.append(resampler.push(x[start:start + size]))
        start += size
    assert np.array_equal(np.concatenate(pieces), whole)
    assert len(whole) == fout  # one second in, one second out (minus nothing: the delay is inside)
    out_t = np.arange(len(whole)) / fout - resampler.delay_s
    expected = 0.5 * np.sin(2 * np.pi * 440 * out_t) + 0.2 * np.sin(2 * np.pi * 3000 * out_t)
    settled = slice(fout // 10, len(whole))
    assert np.max(np.abs(whole[settled, 0] - expected[settled])) < 5e-4


def test_resampler_removes_what_the_lower_rate_cannot_hold():
    fin = 48000
    t = np.arange(fin) / fin
    alias = np.sin(2 * np.pi * 12000 * t)  # above the 8 kHz Nyquist of 16 kHz: must vanish, not fold to 4 kHz
    out = StreamingResampler(fin, 16000).push(alias)[2000:, 0]
    assert np.sqrt(np.mean(out ** 2)) < 1e-3


def test_resample_ratio_reduces_and_passthrough_is_exact():
    assert resample_ratio(44100, 16000) == (160, 441)
    assert resample_ratio(48000, 16000) == (1, 3)
    x = np.random.default_rng(0).standard_normal((100, 2)).astype(np.float32)
    assert np.array_equal(StreamingResampler(16000, 16000, 2).push(x), x)
    with pytest.raises(ConfigError):
        StreamingResampler(0, 16000)


def test_frame_features_match_opencv_area_resize():
    cv2 = pytest.importorskip("cv2")
    frames = np.random.default_rng(3).integers(0, 256, (3, 480, 640, 3), dtype=np.uint8)
    grey = FrameSpec(width=160, height=120, normalize="none").extractor().push(frames)[0]
    for i, frame in enumerate(frames):
        reference = cv2.resize(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), (160, 120), interpolation=cv2.INTER_AREA)
        assert np.max(np.abs(grey[i].reshape(120, 160) - reference)) < 1.0  # cv2 rounds grey, then the mean
    colour = FrameSpec(width=100, height=75, grayscale=False, normalize="none").extractor().push(frames[:1])[0]
    reference = cv2.resize(frames[0], (100, 75), interpolation=cv2.INTER_AREA)
    assert np.max(np.abs(colour[0].reshape(75, 100, 3) - reference)) <= 0.6


def test_frame_normalisation_and_difference():
    frames = np.zeros((3, 24, 32, 3), dtype=np.uint8)
    frames[1] = 255
    frames[2, :12] = 255
    unit = FrameSpec(width=16, height=12).extractor().push(frames)[0]
    assert unit.shape == (3, 16 * 12) and unit[0].max() == 0.0 and np.allclose(unit[1], 1.0)
    diff = FrameSpec(width=16, height=12, diff=True).extractor().push(frames)[0]
    assert np.all(diff[0] == 0) and np.allclose(diff[1], 1.0)
    assert np.allclose(diff[2].reshape(12, 16)[:6], 0.0) and np.allclose(diff[2].reshape(12, 16)[6:], -1.0)
    standard = FrameSpec(width=16, height=12, normalize="standard").extractor().push(frames[2:])[0]
    assert abs(standard.mean()) < 1e-5 and abs(standard.std() - 1.0) < 1e-4


@pytest.mark.parametrize("spec", [NoFeatures(), LogMelSpec(n_mels=32, fmax=7000.0), MfccSpec(n_mfcc=10),
                                  FrameSpec(fps=5, width=32, height=24, grayscale=False, diff=True)],
                         ids=["none", "logmel", "mfcc", "frames"])
def test_specs_round_trip_through_the_manifest(spec):
    data = spec.to_dict()
    assert feature_spec_from_dict(data) == spec
    assert feature_spec_from_dict(None) == NoFeatures()


@pytest.mark.parametrize("data, words", [
    ({"kind": "spectrogram"}, "unknown feature kind"),
    ({"kind": "logmel", "source": {"columns": ["audio"], "sample_rate": 16000}, "params": {"n_melz": 3}},
     "unknown parameter"),
    ({"kind": "mfcc", "source": {"columns": ["audio"], "sample_rate": 16000}, "params": {"n_mfcc": 99}},
     "n_mfcc"),
    ({"kind": "logmel", "source": {"columns": ["audio"], "sample_rate": 16000}, "params": {"fmax": 9000.0}},
     "fmax"),
])
def test_bad_feature_parameters_are_config_errors(data, words):
    with pytest.raises(ConfigError, match=words):
        feature_spec_from_dict(data)
