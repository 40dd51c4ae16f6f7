"""reportgen: audit reports for Keras image classifiers."""

import os

# TensorFlow's C++ start-up chatter (oneDNN, CUDA probing) is noise in a CLI tool's output;
# real failures still surface as Python exceptions. Set before anything imports TensorFlow.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
