"""rnn: the numpy package behind the course. Every formula the book derives lives here."""

__version__ = "0.1.0"
