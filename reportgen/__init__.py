"""reportgen: audit reports for Keras image classifiers."""
