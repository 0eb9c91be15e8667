"""rntk-bench: recurrent and fully connected neural tangent kernels, benchmarked on UCI and UCR data."""

__version__ = "0.1.0"
