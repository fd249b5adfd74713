"""The sample class for ``course grade`` (``class.zip``, built by ``make_class``) and a toy assignment."""
