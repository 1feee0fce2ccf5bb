"""Training data for each family, read from simple documented formats and split reproducibly.

    sensor CSV      header, numeric columns, optional timestamp     autoencoder, forecaster
    labelled CSV    the same plus a label column                    LSTM / BiLSTM / GRU classifier
    frames .npz     arrays ``frames`` (N, T, H, W, C), ``labels``   CNN+LSTM
    text CSV        columns ``text`` and ``label``                  text classifier
    text file       plain UTF-8 text                                char generator

Every loader returns a :class:`Dataset`; its ``meta`` goes into the sidecar
so that ``edgewatch convert`` can rebuild the same split and the device the same input.
"""

from convert.data.base import Dataset, DataOptions, data_file_info
from convert.data.frames import load_frames
from convert.data.labelled import load_labelled_windows
from convert.data.sensor import load_sensor_windows
from convert.data.text import load_char_text, load_text_classes

__all__ = ["Dataset", "DataOptions", "data_file_info", "load_sensor_windows", "load_labelled_windows",
           "load_frames", "load_text_classes", "load_char_text"]
